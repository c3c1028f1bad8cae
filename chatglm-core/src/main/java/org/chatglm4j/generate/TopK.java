package org.chatglm4j.generate;

/**
 * transformers' {@code TopKLogitsWarper}: every score strictly below the k-th largest becomes -inf; scores equal to
 * it all survive, so more than k ids can remain. Finds the threshold by partial selection, not a sort.
 */
final class TopK {
    private final int k;
    private final KthLargest selector;

    /** {@code k} is clamped to {@code [1, vocabSize]} as the reference does ({@code min(max(k, 1), V)}). */
    TopK(int k, int vocabSize) {
        this.k = Math.min(Math.max(k, 1), vocabSize);
        this.selector = new KthLargest(this.k);
    }

    /**
     * Filters {@code row[offset, offset + length)} (no NaN) in place and writes the surviving ids, ascending, to
     * {@code survivors}; returns how many survived.
     */
    int apply(float[] row, int offset, int length, int[] survivors) {
        if (k >= length) {
            for (int i = 0; i < length; i++) survivors[i] = i;
            return length;
        }
        float threshold = selector.find(row, offset, length, k);
        int count = 0;
        for (int i = 0; i < length; i++) {
            if (row[offset + i] >= threshold) survivors[count++] = i;
            else row[offset + i] = Float.NEGATIVE_INFINITY;
        }
        return count;
    }
}
