package org.chatglm4j.model;

import java.util.Arrays;

/**
 * The input of one forward pass: new tokens of one or more sequences, each with its KV cache, position ids, mask
 * and whether it wants the logits of every new token or only of its last one. Sequences of a batch share every
 * weight read, which is what makes serving several users at once cheap. Reusable: {@link #clear()} keeps the
 * arrays, so the steady-state decode loop allocates nothing.
 */
public final class Batch {
    private int size;
    private int rows;
    private KvCache[] caches = new KvCache[4];
    private AttentionMask[] masks = new AttentionMask[4];
    private boolean[] allLogits = new boolean[4];
    private int[] start = new int[4];
    private int[] count = new int[4];
    private int[] tokens = new int[16];
    private int[] positions = new int[16];
    private int[] blockPositions = new int[16];

    /** Empties the batch for reuse, keeping its arrays (and dropping its references to caches and masks). */
    public void clear() {
        size = 0;
        rows = 0;
        Arrays.fill(caches, null);
        Arrays.fill(masks, null);
    }

    /** One decode step of one sequence: a single token, nothing masked, logits of that token. */
    public void add(KvCache cache, int token, int position, int blockPosition) {
        addSegment(cache, AttentionMask.NONE, false, 1);
        tokens[rows] = token;
        positions[rows] = position;
        blockPositions[rows] = blockPosition;
        rows++;
    }

    /**
     * Several new tokens of one sequence. {@code blockPositions} is ignored (may be null) by 1D models.
     * @param allLogits logits of every new token (else only of the last one)
     */
    public void add(KvCache cache, int[] newTokens, int[] positionIds, int[] blockPositionIds, AttentionMask mask,
                    boolean allLogits) {
        int n = newTokens.length;
        if (n == 0) throw new IllegalArgumentException("no tokens");
        if (positionIds.length != n || (blockPositionIds != null && blockPositionIds.length != n)) {
            throw new IllegalArgumentException("position ids do not match the " + n + " tokens");
        }
        addSegment(cache, mask, allLogits, n);
        System.arraycopy(newTokens, 0, tokens, rows, n);
        System.arraycopy(positionIds, 0, positions, rows, n);
        if (blockPositionIds != null) System.arraycopy(blockPositionIds, 0, blockPositions, rows, n);
        else Arrays.fill(blockPositions, rows, rows + n, 0);
        rows += n;
    }

    private void addSegment(KvCache cache, AttentionMask mask, boolean all, int n) {
        for (int i = 0; i < size; i++) {
            if (caches[i] == cache) throw new IllegalArgumentException("a sequence appears twice in one batch");
        }
        if (size == caches.length) {
            int c = size * 2;
            caches = Arrays.copyOf(caches, c);
            masks = Arrays.copyOf(masks, c);
            allLogits = Arrays.copyOf(allLogits, c);
            start = Arrays.copyOf(start, c);
            count = Arrays.copyOf(count, c);
        }
        if (rows + n > tokens.length) {
            int c = Math.max(rows + n, tokens.length * 2);
            tokens = Arrays.copyOf(tokens, c);
            positions = Arrays.copyOf(positions, c);
            blockPositions = Arrays.copyOf(blockPositions, c);
        }
        caches[size] = cache;
        masks[size] = mask;
        allLogits[size] = all;
        start[size] = rows;
        count[size] = n;
        size++;
    }

    /** Number of sequences (segments) in the batch. */
    public int size() { return size; }
    /** Number of new tokens over all sequences: the rows of the forward's {@code [rows, h]} activations. */
    public int rows() { return rows; }
    KvCache cache(int seg) { return caches[seg]; }
    AttentionMask mask(int seg) { return masks[seg]; }
    boolean allLogits(int seg) { return allLogits[seg]; }
    int start(int seg) { return start[seg]; }
    int count(int seg) { return count[seg]; }
    int token(int row) { return tokens[row]; }
    int position(int row) { return positions[row]; }
    int blockPosition(int row) { return blockPositions[row]; }

    /**
     * Before a forward pass: reserves room in every sequence's cache for its new tokens and writes each row's
     * segment into {@code rowSegment[0, rows)}. Returns the most keys any row attends to (cached plus new).
     */
    int reserveCaches(int[] rowSegment) {
        int maxKeys = 0;
        for (int s = 0; s < size; s++) {
            int total = caches[s].length() + count[s];
            caches[s].reserve(total);
            maxKeys = Math.max(maxKeys, total);
            Arrays.fill(rowSegment, start[s], start[s] + count[s], s);
        }
        return maxKeys;
    }

    /** Rows whose logits are wanted, in batch order. */
    int outputRows() {
        int n = 0;
        for (int s = 0; s < size; s++) n += allLogits[s] ? count[s] : 1;
        return n;
    }
}
