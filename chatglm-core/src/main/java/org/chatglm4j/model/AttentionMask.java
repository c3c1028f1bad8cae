package org.chatglm4j.model;

/**
 * Which keys a query may not see, in token indices of one sequence (P-tuning prefix keys are always visible and
 * not indexed here). ChatGLM masks by setting scores to −10000 — not −∞ — before scaling by (layer + 1), so a
 * fully masked row attends uniformly instead of producing NaN; the model reproduces that.
 */
public interface AttentionMask {

    /**
     * Whether query token {@code query} may not see key token {@code key}.
     *
     * @param row the query's row among this forward's new tokens; {@code query} and {@code key} token indices
     */
    boolean masked(int row, int query, int key);

    /** True when no entry is masked: the kernel skips the test. */
    default boolean none() {
        return false;
    }

    /** Decode steps: the new token sees every cached key. */
    AttentionMask NONE = new AttentionMask() {
        @Override
        public boolean masked(int row, int query, int key) {
            return false;
        }

        @Override
        public boolean none() {
            return true;
        }
    };

    /**
     * A prompt's mask: bidirectional over the context (tokens before {@code <sop>}), causal from {@code <sop>} on.
     * Key j is hidden from query i iff {@code j > i and j >= contextLength}.
     */
    static AttentionMask prompt(int contextLength) {
        return (row, query, key) -> key > query && key >= contextLength;
    }

    /** An explicit mask: {@code masked[row][key]} (true = hidden), as Hugging Face batches pass it. */
    static AttentionMask explicit(boolean[][] masked) {
        return (row, query, key) -> masked[row][key];
    }
}
