package org.chatglm4j.generate;

import org.chatglm4j.ChatGlmException;

import java.util.Objects;

/**
 * The per-step score pipeline of one sequence, in the reference order (transformers 4.27 {@code generate()} with
 * ChatGLM-6B's {@code InvalidScoreLogitsProcessor} appended to the built-in processors):
 * <ol>
 *   <li>{@link #process processors}, for greedy decoding and sampling alike: {@link RepetitionPenalty} (when not
 *       1.0), then {@link InvalidScoreGuard};</li>
 *   <li>{@link #warp warpers}, for sampling only: temperature (when not 1.0), top-k (when not 0), top-p (when
 *       {@code < 1}); removed scores become -inf; then the float32 softmax of the warped scores.</li>
 * </ol>
 * Works in place on one row of {@code vocabSize} scores ({@code row[offset, offset + vocabSize)}); all scratch
 * buffers are allocated here, once, so a step allocates nothing. Top-k finds its threshold by partial selection and
 * top-p sorts only the top of the distribution. One pipeline per sequence; not thread-safe.
 *
 * <p>Deviations, only where the reference yields NaN probabilities: a temperature so small that a score overflows
 * float32 clamps it to ±{@link Float#MAX_VALUE}; a top-p that would remove every id keeps the best one. Among equal
 * scores the top-p cut treats the smaller id as larger (torch's order of ties is unspecified).
 */
public final class ScorePipeline {
    /** Sorting starts with this many of the largest candidates in top-p (grows when the cut lies lower). */
    static final int TOP_P_FIRST_SELECTION = 256;

    private final SamplingSettings settings;
    private final int vocabSize;
    private final RepetitionPenalty repetitionPenalty;
    private final float temperature;
    private final TopK topK;
    private final TopP topP;
    private final int[] ids;
    private final float[] probabilities;
    private final double[] exps;
    private final TokenDistribution distribution;

    /** The processors and warpers of {@code settings} for score rows of {@code vocabSize}. */
    public ScorePipeline(SamplingSettings settings, int vocabSize) {
        this(settings, vocabSize, TOP_P_FIRST_SELECTION);
    }

    /** With a chosen first top-p selection size: lets tests drive the growing path on small vocabularies. */
    ScorePipeline(SamplingSettings settings, int vocabSize, int topPFirstSelection) {
        this.settings = Objects.requireNonNull(settings, "settings");
        if (vocabSize <= InvalidScoreGuard.REPLACEMENT_INDEX) {
            throw new ChatGlmException("score pipeline: vocabulary size " + vocabSize + " is too small, need at least "
                    + (InvalidScoreGuard.REPLACEMENT_INDEX + 1));
        }
        this.vocabSize = vocabSize;
        this.repetitionPenalty = settings.repetitionPenaltyActive()
                ? new RepetitionPenalty(settings.repetitionPenalty(), vocabSize) : null;
        this.temperature = (float) settings.temperature();
        this.topK = settings.topKActive() ? new TopK(settings.topK(), vocabSize) : null;
        this.topP = settings.topPActive() ? new TopP(settings.topP(), vocabSize, topPFirstSelection) : null;
        this.ids = new int[vocabSize];
        this.probabilities = new float[vocabSize];
        this.exps = new double[vocabSize];
        this.distribution = new TokenDistribution(ids, probabilities);
    }

    /** The settings it applies. */
    public SamplingSettings settings() {
        return settings;
    }

    /** The length of a score row. */
    public int vocabSize() {
        return vocabSize;
    }

    /**
     * Applies the logits processors in place: repetition penalty over the distinct ids of
     * {@code tokens[0, tokenCount)} (the whole sequence so far, prompt included), then the invalid-score guard.
     *
     * @return whether the guard fired (the row had a NaN or an infinity and was reset)
     * @throws ChatGlmException if a token id is outside the vocabulary
     */
    public boolean process(float[] row, int offset, int[] tokens, int tokenCount) {
        checkRow(row, offset);
        if (repetitionPenalty != null) repetitionPenalty.apply(row, offset, tokens, tokenCount);
        return InvalidScoreGuard.apply(row, offset, vocabSize);
    }

    /**
     * Applies the warpers in place to a {@link #process processed} row (all scores finite) and returns the
     * distribution to sample from: a view valid until the next call.
     */
    public TokenDistribution warp(float[] row, int offset) {
        checkRow(row, offset);
        for (int i = offset, end = offset + vocabSize; i < end; i++) {
            if (!Float.isFinite(row[i])) {
                throw new IllegalArgumentException("score " + (i - offset) + " is " + row[i]
                        + ": warp() needs a row that went through process()");
            }
        }
        if (settings.temperatureActive()) Temperature.apply(row, offset, vocabSize, temperature);
        int count;
        if (topK != null) {
            count = topK.apply(row, offset, vocabSize, ids);
        } else {
            for (int i = 0; i < vocabSize; i++) ids[i] = i;
            count = vocabSize;
        }
        if (topP != null) count = topP.apply(row, offset, ids, count);
        softmax(row, offset, count);
        distribution.setSize(count);
        return distribution;
    }

    /**
     * One decoding step: {@link #process}, then the argmax of the processed scores (greedy settings; the sampler
     * is not used and may be null) or a draw from {@link #warp}'s distribution.
     *
     * @param row       the model's last-position logits, overwritten with the processed (and warped) scores
     * @param tokens    the sequence so far, prompt and generated ids
     * @return the next token id
     */
    public int nextToken(float[] row, int offset, int[] tokens, int tokenCount, Sampler sampler) {
        process(row, offset, tokens, tokenCount);
        if (!settings.doSample()) return Sampler.argmax(row, offset, vocabSize);
        Objects.requireNonNull(sampler, "sampler is required when sampling");
        return sampler.sample(warp(row, offset));
    }

    /** float32 softmax over the kept ids (every other score is -inf and gets 0), max-subtracted like torch. */
    private void softmax(float[] row, int offset, int count) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < count; i++) max = Math.max(max, row[offset + ids[i]]);
        double total = 0;
        for (int i = 0; i < count; i++) {
            double e = Math.exp(row[offset + ids[i]] - max);
            exps[i] = e;
            total += e;
        }
        for (int i = 0; i < count; i++) probabilities[i] = (float) (exps[i] / total);
    }

    private void checkRow(float[] row, int offset) {
        if (offset < 0 || offset > row.length - vocabSize) {
            throw new IllegalArgumentException("score row [" + offset + ", " + offset + " + " + vocabSize
                    + ") does not fit an array of " + row.length);
        }
    }
}
