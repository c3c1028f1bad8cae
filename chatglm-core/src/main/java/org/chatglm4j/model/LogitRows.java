package org.chatglm4j.model;

/**
 * Gathers the hidden rows whose logits a batch wants ({@link Batch#allLogits} or only each segment's last row), at
 * most {@link #CHUNK} at a time, and hands each chunk to the forward's final norm and output layer: the logits
 * scratch stays {@code [CHUNK, vocab]} however many rows a prompt asks for.
 */
final class LogitRows {
    /** Rows whose logits are computed at once. */
    static final int CHUNK = 8;

    /** Computes the logits of the gathered rows {@code hidden [n, h]} and hands row j to the sink as (segment[j], index[j]). */
    @FunctionalInterface
    interface Flush {
        void run(int n);
    }

    private final int h;
    /** [CHUNK, h]: the gathered rows, normed in place by the flush. */
    final float[] hidden;
    /** Per gathered row: its batch segment and its index among that segment's new tokens. */
    final int[] segment = new int[CHUNK], index = new int[CHUNK];

    LogitRows(int h) {
        this.h = h;
        this.hidden = new float[CHUNK * h];
    }

    /** Gathers the wanted rows of {@code x [rows, h]} in batch order, calling {@code flush} per full or last chunk. */
    void emit(Batch b, float[] x, Flush flush) {
        int pending = 0;
        for (int s = 0; s < b.size(); s++) {
            int first = b.allLogits(s) ? 0 : b.count(s) - 1;
            for (int i = first; i < b.count(s); i++) {
                System.arraycopy(x, (b.start(s) + i) * h, hidden, pending * h, h);
                segment[pending] = s;
                index[pending] = i;
                if (++pending == CHUNK) {
                    flush.run(pending);
                    pending = 0;
                }
            }
        }
        if (pending > 0) flush.run(pending);
    }
}
