package org.chatglm4j.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * SentencePiece 0.1.97 BPE segmentation: the text starts as characters (user-defined pieces as single frozen
 * symbols), then the adjacent pair whose concatenation is the dictionary piece with the highest score is merged
 * (ties: the leftmost pair), again and again until no pair forms a piece. Merges through unused pieces are undone
 * at the end, as SentencePiece does. Finished symbols that are not pieces get the unknown id. A binary heap with
 * lazy deletion makes this O(n log n).
 */
final class BpeSegmenter implements Segmenter {
    private final Vocabulary vocab;

    BpeSegmenter(Vocabulary vocab) {
        this.vocab = vocab;
    }

    @Override
    public Segmentation segment(byte[] text) {
        Segmentation out = new Segmentation();
        int n = text.length;
        if (n == 0) return out;

        // Symbols: the initial characters, linked so that merges can splice them.
        int[] start = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] frozen = new boolean[n];
        int count = 0;
        Vocabulary.Lookup lookup = vocab.new Lookup();
        for (int pos = 0; pos < n; ) {
            int user = lookup.userDefined.longestPrefix(text, pos, n);
            int mblen = user > 0 ? user : Math.min(Utf8.leadLength(text[pos]), n - pos);
            start[count] = pos;
            len[count] = mblen;
            frozen[count] = user > 0;
            prev[count] = count - 1;
            pos += mblen;
            next[count] = pos < n ? count + 1 : -1;
            count++;
        }

        Agenda agenda = new Agenda(count * 2);
        Map<String, int[]> reverseMerges = vocab.hasUnused() ? new HashMap<>() : null;
        for (int i = 1; i < count; i++) maybeAddPair(lookup, text, i - 1, i, start, len, frozen, agenda, reverseMerges);

        while (!agenda.isEmpty()) {
            int top = agenda.pop();
            int left = agenda.left(top);
            int right = agenda.right(top);
            // Stale entry: one side was merged away or grew since the pair was queued.
            if (len[left] == 0 || len[right] == 0 || len[left] + len[right] != agenda.size(top)) continue;
            len[left] += len[right];
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            len[right] = 0;
            maybeAddPair(lookup, text, prev[left], left, start, len, frozen, agenda, reverseMerges);
            maybeAddPair(lookup, text, left, next[left], start, len, frozen, agenda, reverseMerges);
        }

        for (int i = 0; i != -1; i = next[i]) {
            resegment(lookup, text, start[i], start[i] + len[i], reverseMerges, out);
        }
        return out;
    }

    private void maybeAddPair(Vocabulary.Lookup lookup, byte[] text, int left, int right, int[] start, int[] len,
                              boolean[] frozen, Agenda agenda, Map<String, int[]> reverseMerges) {
        if (left == -1 || right == -1 || frozen[left] || frozen[right]) return;
        int from = start[left];
        int size = len[left] + len[right];
        int id = lookup.pieces.exact(text, from, from + size);
        if (id < 0) return;
        agenda.push(left, right, vocab.score(id), size);
        if (reverseMerges != null && vocab.type(id) == PieceType.UNUSED) {
            reverseMerges.put(new String(text, from, size, StandardCharsets.UTF_8),
                    new int[]{from, len[left], start[right], len[right]});
        }
    }

    /** Emits a finished symbol, splitting it back into its two halves while it is an unused piece. */
    private void resegment(Vocabulary.Lookup lookup, byte[] text, int from, int to, Map<String, int[]> reverseMerges,
                           Segmentation out) {
        int id = lookup.pieceToId(text, from, to);
        if (reverseMerges != null && vocab.type(id) == PieceType.UNUSED) {
            int[] halves = reverseMerges.get(new String(text, from, to - from, StandardCharsets.UTF_8));
            if (halves != null) {
                resegment(lookup, text, halves[0], halves[0] + halves[1], reverseMerges, out);
                resegment(lookup, text, halves[2], halves[2] + halves[3], reverseMerges, out);
                return;
            }
        }
        out.add(from, to, id);
    }

    /** Max-heap of candidate pairs: higher score first, then the smaller left index. */
    private static final class Agenda {
        private int[] lefts;
        private int[] rights;
        private float[] scores;
        private int[] sizes;
        private int pairs;
        private int[] heap;
        private int heapSize;

        Agenda(int capacity) {
            capacity = Math.max(capacity, 16);
            lefts = new int[capacity];
            rights = new int[capacity];
            scores = new float[capacity];
            sizes = new int[capacity];
            heap = new int[capacity];
        }

        boolean isEmpty() {
            return heapSize == 0;
        }

        int left(int pair) {
            return lefts[pair];
        }

        int right(int pair) {
            return rights[pair];
        }

        int size(int pair) {
            return sizes[pair];
        }

        void push(int left, int right, float score, int size) {
            if (pairs == lefts.length) {
                int cap = pairs * 2;
                lefts = Arrays.copyOf(lefts, cap);
                rights = Arrays.copyOf(rights, cap);
                scores = Arrays.copyOf(scores, cap);
                sizes = Arrays.copyOf(sizes, cap);
            }
            int p = pairs++;
            lefts[p] = left;
            rights[p] = right;
            scores[p] = score;
            sizes[p] = size;
            if (heapSize == heap.length) heap = Arrays.copyOf(heap, heapSize * 2);
            int i = heapSize++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (!before(p, heap[parent])) break;
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = p;
        }

        int pop() {
            int top = heap[0];
            int last = heap[--heapSize];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= heapSize) break;
                if (child + 1 < heapSize && before(heap[child + 1], heap[child])) child++;
                if (!before(heap[child], last)) break;
                heap[i] = heap[child];
                i = child;
            }
            if (heapSize > 0) heap[i] = last;
            return top;
        }

        /** Whether pair a comes out before pair b. */
        private boolean before(int a, int b) {
            if (scores[a] != scores[b]) return scores[a] > scores[b];
            return lefts[a] < lefts[b];
        }
    }
}
