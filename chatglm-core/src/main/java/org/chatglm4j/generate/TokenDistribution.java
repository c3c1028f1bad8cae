package org.chatglm4j.generate;

/**
 * The distribution the next token is drawn from: the ids that survived the warpers with their float32
 * probabilities (every other id has probability 0). A kept id can have probability 0 (its score underflows next
 * to the best one). A view of its {@link ScorePipeline}'s buffers, valid until that pipeline's next
 * {@link ScorePipeline#warp}; the order of the entries is deterministic but unspecified.
 */
public final class TokenDistribution {
    private final int[] ids;
    private final float[] probabilities;
    private int size;

    TokenDistribution(int[] ids, float[] probabilities) {
        this.ids = ids;
        this.probabilities = probabilities;
    }

    void setSize(int size) {
        this.size = size;
    }

    /** Number of kept ids, {@code >= 1}. */
    public int size() {
        return size;
    }

    /** The i-th kept id, {@code 0 <= i < size()}. */
    public int id(int i) {
        return ids[checkIndex(i)];
    }

    /** The probability of {@link #id(int) id(i)}. */
    public float probability(int i) {
        return probabilities[checkIndex(i)];
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= size) throw new IndexOutOfBoundsException("entry " + i + " of " + size);
        return i;
    }
}
