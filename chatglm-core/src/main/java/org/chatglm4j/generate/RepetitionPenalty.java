package org.chatglm4j.generate;

import org.chatglm4j.ChatGlmException;

/**
 * transformers 4.27 {@code RepetitionPenaltyLogitsProcessor}: for every distinct id present in the sequence so far
 * (prompt and generated tokens alike), a negative score is multiplied by the penalty and any other score divided by
 * it, in float32. An id that occurs several times is penalized once (the reference gathers, then scatters the same
 * value back). Holds a vocabulary-sized bit set, so one instance serves one sequence at a time.
 */
public final class RepetitionPenalty {
    private final float penalty;
    private final int vocabSize;
    private final long[] seen;

    /**
     * The reference's {@code RepetitionPenaltyLogitsProcessor}.
     *
     * @param penalty   finite, {@code > 0}; used as {@code float32(penalty)} like torch does with a Python scalar
     * @param vocabSize length of a score row
     */
    public RepetitionPenalty(double penalty, int vocabSize) {
        if (!(penalty > 0) || !Double.isFinite(penalty)) {
            throw new ChatGlmException("repetition penalty must be a finite number > 0, got " + penalty);
        }
        if (vocabSize <= 0) throw new IllegalArgumentException("vocabulary size must be > 0, got " + vocabSize);
        this.penalty = (float) penalty;
        this.vocabSize = vocabSize;
        this.seen = new long[(vocabSize + 63) >>> 6];
    }

    /** Penalizes, in {@code row[offset, offset + vocabSize)}, the ids in {@code tokens[0, tokenCount)}. */
    public void apply(float[] row, int offset, int[] tokens, int tokenCount) {
        if (offset < 0 || offset > row.length - vocabSize) {
            throw new IllegalArgumentException("score row [" + offset + ", " + offset + " + " + vocabSize
                    + ") does not fit an array of " + row.length);
        }
        if (tokenCount < 0 || tokenCount > tokens.length) {
            throw new IllegalArgumentException("token count " + tokenCount + " outside [0, " + tokens.length + "]");
        }
        // validate first so that a bad id leaves neither the row nor the bit set half-updated
        for (int t = 0; t < tokenCount; t++) {
            int id = tokens[t];
            if (id < 0 || id >= vocabSize) {
                throw new ChatGlmException("repetition penalty: token id " + id + " at position " + t
                        + " is outside the vocabulary [0, " + vocabSize + ")");
            }
        }
        for (int t = 0; t < tokenCount; t++) {
            int id = tokens[t];
            long bit = 1L << id;
            if ((seen[id >>> 6] & bit) != 0) continue;
            seen[id >>> 6] |= bit;
            float s = row[offset + id];
            row[offset + id] = s < 0 ? s * penalty : s / penalty;
        }
        for (int t = 0; t < tokenCount; t++) seen[tokens[t] >>> 6] = 0; // O(tokens) clear, not O(vocab)
    }
}
