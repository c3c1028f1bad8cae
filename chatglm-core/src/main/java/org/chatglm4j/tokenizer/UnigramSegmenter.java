package org.chatglm4j.tokenizer;

import java.util.Arrays;

/**
 * Unigram segmentation: the Viterbi best path over all dictionary pieces, as SentencePiece 0.1.97's default
 * ("optimized") unigram encoder computes it. Positions are UTF-8 byte offsets; for every start character, in
 * order, each piece starting there updates the best path ending at its end if it is strictly better, so ties go
 * to the path found first. Scores follow the C++ types exactly: a piece's score plus the path score is added in
 * double and stored as float (user-defined pieces score {@code float(byteLength · maxScore) − 0.1} in double, so
 * they always win), while the unknown candidate is a float sum. A character no single-character piece covers
 * gets an unknown candidate scored {@code minScore − 10}.
 *
 * <p>Cost is O(text bytes × longest piece), linear in the text length.
 */
final class UnigramSegmenter implements Segmenter {
    private static final float UNK_PENALTY = 10.0f;

    private final Vocabulary vocab;
    private final float minScore;
    private final float maxScore;

    UnigramSegmenter(Vocabulary vocab) {
        this.vocab = vocab;
        float min = Float.MAX_VALUE;
        float max = Float.MIN_NORMAL; // C++ FLT_MIN: the smallest positive normal float, not the most negative
        for (int i = 0; i < vocab.size(); i++) {
            if (vocab.type(i) == PieceType.NORMAL) {
                min = Math.min(min, vocab.score(i));
                max = Math.max(max, vocab.score(i));
            }
        }
        minScore = min;
        maxScore = max;
    }

    @Override
    public Segmentation segment(byte[] text) {
        Segmentation out = new Segmentation();
        int n = text.length;
        if (n == 0) return out;
        float unkScore = minScore - UNK_PENALTY;
        int unkId = vocab.unkId();
        float[] bestScore = new float[n + 1];
        int[] bestStart = new int[n + 1];
        int[] bestId = new int[n + 1];
        Arrays.fill(bestStart, -1);
        BytesTrie.Cursor cursor = vocab.pieces.cursor();
        int start = 0;
        while (start < n) {
            float till = bestScore[start];
            int charLen = Math.min(Utf8.leadLength(text[start]), n - start);
            boolean hasSingleChar = false;
            cursor.reset();
            for (int key = start; key < n; key++) {
                if (!cursor.next(text[key])) break;
                int id = cursor.value();
                if (id < 0) continue;
                PieceType type = vocab.type(id);
                if (type == PieceType.UNUSED) continue;
                int end = key + 1;
                int length = end - start;
                double score = type == PieceType.USER_DEFINED
                        ? (double) ((float) length * maxScore) - 0.1
                        : (double) vocab.score(id);
                double candidate = score + (double) till;
                if (bestStart[end] == -1 || candidate > (double) bestScore[end]) {
                    bestScore[end] = (float) candidate;
                    bestStart[end] = start;
                    bestId[end] = id;
                }
                if (length == charLen) hasSingleChar = true;
            }
            if (!hasSingleChar) {
                int end = start + charLen;
                float candidate = unkScore + till;
                if (bestStart[end] == -1 || candidate > bestScore[end]) {
                    bestScore[end] = candidate;
                    bestStart[end] = start;
                    bestId[end] = unkId;
                }
            }
            start += charLen;
        }
        for (int end = n; end > 0; ) {
            int begin = bestStart[end];
            if (begin < 0) throw new IllegalStateException("unigram lattice has no path to byte " + end);
            out.add(begin, end, bestId[end]);
            end = begin;
        }
        out.reverse();
        return out;
    }
}
