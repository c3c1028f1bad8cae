package org.chatglm4j.generate;

/**
 * transformers 4.27 {@code TopPLogitsWarper} (nucleus filtering) on a set of candidate ids.
 *
 * <p>Reference semantics: sort the scores ascending, {@code cum = cumsum(softmax(sorted))} with float32
 * probabilities and a cumulative sum accumulated in double but rounded to float32 at every prefix (torch's CPU
 * cumsum), and remove every sorted entry with {@code cum <= float32(1 - p)} ({@code 1 - p} computed in double).
 * {@code min_tokens_to_keep = 1} adds no guard. Ids whose score is -inf (already removed by top-k) have probability
 * 0 and cumulative 0, so they neither change the result nor need to be looked at.
 *
 * <p>Two decisions where the reference is not usable as a spec: equal scores are ordered by id (torch's sort is
 * unstable, so which of several tied ids is cut at the boundary is unspecified there; here the smaller id counts
 * as the larger score), and when every entry would be removed (p so small that {@code float32(1 - p)} reaches the
 * total probability; the reference then produces NaN probabilities and fails) the best entry is kept.
 *
 * <p>The removed entries always form a prefix of the ascending order, so only the top of the distribution has to
 * be sorted: the candidates at or above the n-th largest score are sorted, the probability of everything below is
 * summed, and if the cut falls inside the sorted part (its lowest entry is removed) everything below is removed too;
 * otherwise n grows. Scratch buffers are allocated once.
 */
final class TopP {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private final float removeAtOrBelow;
    private final int firstSelection;
    private final KthLargest selector;
    private final float[] scores;
    private final double[] exps;
    private final long[] keys;
    private final int[] order;

    /**
     * @param topP           in (0, 1)
     * @param vocabSize      the most candidates a call can get
     * @param firstSelection how many of the largest candidates are sorted first (grows by 8x while needed)
     */
    TopP(double topP, int vocabSize, int firstSelection) {
        if (!(topP > 0 && topP < 1)) throw new IllegalArgumentException("top_p must be in (0, 1), got " + topP);
        if (firstSelection < 1) throw new IllegalArgumentException("first selection must be >= 1, got " + firstSelection);
        this.removeAtOrBelow = (float) (1.0 - topP);
        this.firstSelection = firstSelection;
        this.selector = new KthLargest(vocabSize);
        this.scores = new float[vocabSize];
        this.exps = new double[vocabSize];
        this.keys = new long[vocabSize];
        this.order = new int[vocabSize];
    }

    /**
     * Filters the candidates {@code ids[0, count)} (ascending ids into {@code row[offset, ...)}, finite scores;
     * every other id of the row must already be -inf). Removed candidates become -inf in the row. On return
     * {@code ids[0, kept)} holds the kept ids by descending score (ties: ascending id); returns {@code kept >= 1}.
     */
    int apply(float[] row, int offset, int[] ids, int count) {
        if (count <= 1) return count; // a lone candidate has probability 1 > float32(1 - p), or is the best
        float max = NEG_INF;
        for (int j = 0; j < count; j++) {
            float s = row[offset + ids[j]];
            scores[j] = s;
            max = Math.max(max, s);
        }
        double total = 0;
        for (int j = 0; j < count; j++) {
            double e = Math.exp(scores[j] - max); // float subtraction, like torch's float32 softmax
            exps[j] = e;
            total += e;
        }
        int n = Math.min(firstSelection, count);
        while (true) {
            boolean all = n >= count;
            float threshold = all ? NEG_INF : selector.find(scores, 0, count, n);
            int selected = 0;
            double below = 0;
            for (int j = 0; j < count; j++) {
                if (scores[j] >= threshold) keys[selected++] = sortKey(scores[j], j);
                else below += (float) (exps[j] / total);
            }
            LongSort.sort(keys, 0, selected);
            double cumulative = below;
            int removed = 0;
            while (removed < selected) {
                cumulative += (float) (exps[position(keys[removed])] / total);
                if ((float) cumulative > removeAtOrBelow) break;
                removed++;
            }
            if (removed == 0 && !all) {
                // the cut may lie below the sorted part: sort more of the top
                n = n > count / 8 ? count : n * 8;
                continue;
            }
            if (removed == selected) removed = selected - 1; // everything removed: keep the best (see class doc)
            for (int i = 0; i < removed; i++) row[offset + ids[position(keys[i])]] = NEG_INF;
            if (!all) {
                for (int j = 0; j < count; j++) {
                    if (scores[j] < threshold) row[offset + ids[j]] = NEG_INF;
                }
            }
            int kept = selected - removed;
            for (int i = 0; i < kept; i++) order[i] = ids[position(keys[selected - 1 - i])];
            System.arraycopy(order, 0, ids, 0, kept);
            return kept;
        }
    }

    /**
     * Orders by score ascending, then by candidate position descending (so that, read backwards, equal scores
     * come in ascending id order). {@code + 0f} turns -0.0 into 0.0: they compare equal in the reference.
     */
    private static long sortKey(float score, int position) {
        int bits = Float.floatToRawIntBits(score + 0f);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // signed int order == float order
        return ((long) ordered << 32) | (~position & 0xffffffffL);
    }

    private static int position(long key) {
        return ~(int) key;
    }
}
