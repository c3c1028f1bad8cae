package org.chatglm4j.generate;

/**
 * ChatGLM-6B's {@code InvalidScoreLogitsProcessor}: when any score is NaN or infinite, every score becomes 0 except
 * index {@value #REPLACEMENT_INDEX}, which becomes {@code 5e4} (so greedy decoding and sampling both pick token 5).
 * The index is a reference quirk and does not depend on the vocabulary.
 *
 * <p>The reference checks the whole {@code [batch, vocab]} tensor at once: one invalid row resets <em>every</em>
 * row of the batch. A batched caller reproduces that with {@link #hasInvalid} over all rows, then {@link #reset} on
 * each row; {@link ScorePipeline#process} handles the single-sequence case.
 */
public final class InvalidScoreGuard {
    /** The id whose score is set when a row holds NaN or infinity, as the reference does. */
    public static final int REPLACEMENT_INDEX = 5;
    /** The score given to {@link #REPLACEMENT_INDEX} in that case. */
    public static final float REPLACEMENT_SCORE = 5e4f;

    private InvalidScoreGuard() {
    }

    /** Whether {@code row[offset, offset + length)} holds a NaN or an infinity. */
    public static boolean hasInvalid(float[] row, int offset, int length) {
        checkRow(row, offset, length);
        boolean invalid = false;
        for (int i = offset, end = offset + length; i < end; i++) {
            // no early exit: a branch-free loop is faster on the (normal) all-finite path
            invalid |= !Float.isFinite(row[i]);
        }
        return invalid;
    }

    /** The replacement the reference writes: all zeros, {@code 5e4} at index {@value #REPLACEMENT_INDEX}. */
    public static void reset(float[] row, int offset, int length) {
        checkRow(row, offset, length);
        java.util.Arrays.fill(row, offset, offset + length, 0f);
        row[offset + REPLACEMENT_INDEX] = REPLACEMENT_SCORE;
    }

    /** {@link #reset} the row if it {@link #hasInvalid has an invalid score}; returns whether it did. */
    public static boolean apply(float[] row, int offset, int length) {
        if (!hasInvalid(row, offset, length)) return false;
        reset(row, offset, length);
        return true;
    }

    private static void checkRow(float[] row, int offset, int length) {
        if (length <= REPLACEMENT_INDEX) {
            throw new IllegalArgumentException("invalid-score guard needs at least " + (REPLACEMENT_INDEX + 1)
                    + " scores, got " + length);
        }
        if (offset < 0 || offset > row.length - length) {
            throw new IllegalArgumentException("score row [" + offset + ", " + offset + " + " + length
                    + ") does not fit an array of " + row.length);
        }
    }
}
