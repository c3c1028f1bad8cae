package org.chatglm4j.generate;

import org.chatglm4j.ChatGlmException;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Edge cases, bad arguments and the no-allocation promise of {@link ScorePipeline}. */
class ScorePipelineTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    @Test
    void guardZeroesTheRowAndPutsTheMassOnIdFive() {
        for (float bad : new float[]{Float.NaN, Float.POSITIVE_INFINITY, NEG_INF}) {
            float[] row = {1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f};
            row[7] = bad;
            assertThat(InvalidScoreGuard.apply(row, 0, 8)).isTrue();
            assertThat(row).containsExactly(0f, 0f, 0f, 0f, 0f, 5e4f, 0f, 0f);
        }
        float[] fine = {1f, 2f, 3f, 4f, 5f, -Float.MAX_VALUE, Float.MAX_VALUE, 0f};
        assertThat(InvalidScoreGuard.apply(fine, 0, 8)).isFalse();
        assertThat(fine).containsExactly(1f, 2f, 3f, 4f, 5f, -Float.MAX_VALUE, Float.MAX_VALUE, 0f);
    }

    @Test
    void guardPartsComposeForABatch() {
        // the reference resets every row of the batch when any row is invalid
        float[] batch = new float[3 * 6];
        for (int i = 0; i < batch.length; i++) batch[i] = i;
        batch[6 + 2] = Float.NaN;
        boolean any = false;
        for (int r = 0; r < 3; r++) any |= InvalidScoreGuard.hasInvalid(batch, r * 6, 6);
        assertThat(any).isTrue();
        for (int r = 0; r < 3; r++) InvalidScoreGuard.reset(batch, r * 6, 6);
        for (int i = 0; i < batch.length; i++) assertThat(batch[i]).isEqualTo(i % 6 == 5 ? 5e4f : 0f);
        assertThatThrownBy(() -> InvalidScoreGuard.hasInvalid(new float[5], 0, 5))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> InvalidScoreGuard.reset(new float[8], 3, 6))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void greedyUsesTheProcessedScores() {
        ScorePipeline greedy = new ScorePipeline(SamplingSettings.greedy(), 8);
        assertThat(greedy.nextToken(new float[]{1f, 9f, 9f, 0f, 0f, 0f, 0f, 0f}, 0, new int[0], 0, null)).isEqualTo(1);
        assertThat(greedy.nextToken(new float[]{1f, 9f, Float.NaN, 0f, 0f, 0f, 0f, 0f}, 0, new int[0], 0, null))
                .isEqualTo(5);
    }

    @Test
    void topKKeepsEveryTieAtTheThreshold() {
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(true, 1.0, 2, 1.0, 1.0), 8);
        float[] row = {1f, 3f, 2f, 2f, -0.0f, 2f, 0f, 3f};
        pipeline.process(row, 0, new int[0], 0);
        TokenDistribution d = pipeline.warp(row, 0);
        assertThat(SamplingGoldenTest.sortedIds(d)).containsExactly(1, 7);
        ScorePipeline three = new ScorePipeline(new SamplingSettings(true, 1.0, 3, 1.0, 1.0), 8);
        float[] row3 = {1f, 3f, 2f, 2f, -0.0f, 2f, 0f, 3f};
        TokenDistribution d3 = three.warp(row3, 0);
        assertThat(SamplingGoldenTest.sortedIds(d3)).containsExactly(1, 2, 3, 5, 7);
        assertThat(row3).containsExactly(NEG_INF, 3f, 2f, 2f, NEG_INF, 2f, NEG_INF, 3f);
        // -0.0 and 0.0 tie: the 7th largest is one of them, so both stay
        ScorePipeline seven = new ScorePipeline(new SamplingSettings(true, 1.0, 7, 1.0, 1.0), 8);
        assertThat(SamplingGoldenTest.sortedIds(seven.warp(new float[]{1f, 3f, 2f, 2f, -0.0f, 2f, 0f, 3f}, 0)))
                .containsExactly(0, 1, 2, 3, 4, 5, 6, 7);
    }

    @Test
    void topKLargerThanTheVocabularyKeepsEverything() {
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(true, 1.0, 1000, 1.0, 1.0), 6);
        float[] row = {1f, 2f, 3f, 4f, 5f, 6f};
        assertThat(pipeline.warp(row, 0).size()).isEqualTo(6);
        assertThat(row).containsExactly(1f, 2f, 3f, 4f, 5f, 6f);
    }

    @Test
    void topPRemovesTheAscendingPrefixUpToOneMinusP() {
        // probabilities about 0.5, 0.25, 0.125, 0.125, 0, 0: ascending cumulative sums about
        // 0 (ids 5, 4), 0.125 (id 3), 0.25 (id 2), 0.5 (id 1), 1 (id 0); ids 2 and 3 tie
        float ln2 = (float) Math.log(2);
        float[] logits = {3 * ln2, 2 * ln2, ln2, ln2, -100f, -100f};
        float[] row = logits.clone();
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(true, 1.0, 0, 0.74, 1.0), 6);
        assertThat(SamplingGoldenTest.sortedIds(pipeline.warp(row, 0))).containsExactly(0, 1);
        assertThat(row).containsExactly(3 * ln2, 2 * ln2, NEG_INF, NEG_INF, NEG_INF, NEG_INF);
        // 1 - p = 0.24 cuts between the tied ids: the smaller id counts as the larger score and stays
        float[] row2 = logits.clone();
        ScorePipeline wider = new ScorePipeline(new SamplingSettings(true, 1.0, 0, 0.76, 1.0), 6);
        TokenDistribution d = wider.warp(row2, 0);
        assertThat(SamplingGoldenTest.sortedIds(d)).containsExactly(0, 1, 2);
        float[] p = SamplingGoldenTest.probabilitiesById(d, 6);
        assertThat(p[0]).isCloseTo(4f / 7, org.assertj.core.api.Assertions.within(1e-6f));
        assertThat(p[2]).isCloseTo(1f / 7, org.assertj.core.api.Assertions.within(1e-6f));
    }

    @Test
    void topPThatWouldRemoveEverythingKeepsTheBest() {
        float[] row = {1f, 4f, 2f, 4f, 0f, 3f};
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(true, 1.0, 0, 1e-9, 1.0), 6);
        TokenDistribution d = pipeline.warp(row, 0);
        assertThat(d.size()).isEqualTo(1);
        assertThat(d.id(0)).as("the smaller of two tied best ids").isEqualTo(1);
        assertThat(d.probability(0)).isEqualTo(1f);
    }

    @Test
    void tinyTemperatureClampsInsteadOfProducingNaN() {
        float[] row = {1f, 3f, 2.9f, -3f, 0f, 0.5f};
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(true, 1e-40, 0, 1.0, 1.0), 6);
        TokenDistribution d = pipeline.warp(row, 0);
        assertThat(row).containsExactly(Float.MAX_VALUE, Float.MAX_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 0f,
                Float.MAX_VALUE);
        float[] p = SamplingGoldenTest.probabilitiesById(d, 6);
        assertThat(p).containsExactly(0.25f, 0.25f, 0.25f, 0f, 0f, 0.25f);
    }

    @Test
    void rejectsRowsThatWereNotProcessed() {
        ScorePipeline pipeline = new ScorePipeline(SamplingSettings.chatDefaults(), 6);
        assertThatThrownBy(() -> pipeline.warp(new float[]{1f, Float.NaN, 0f, 0f, 0f, 0f}, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("process()");
    }

    @Test
    void rejectsBadShapes() {
        assertThatThrownBy(() -> new ScorePipeline(SamplingSettings.chatDefaults(), 5))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("score pipeline: vocabulary size 5 is too small, need at least 6");
        ScorePipeline pipeline = new ScorePipeline(SamplingSettings.chatDefaults(), 6);
        assertThatThrownBy(() -> pipeline.process(new float[7], 2, new int[0], 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> pipeline.warp(new float[6], -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> pipeline.nextToken(new float[6], 0, new int[0], 0, null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("sampler");
        ScorePipeline penalized = new ScorePipeline(new SamplingSettings(true, 1.0, 0, 1.0, 1.2), 6);
        assertThatThrownBy(() -> penalized.process(new float[6], 0, new int[]{7}, 1))
                .isInstanceOf(ChatGlmException.class).hasMessageContaining("token id 7");
    }

    @Test
    void aStepAllocatesNothing() {
        int vocab = 130_528; // ChatGLM-6B
        SplittableRandom random = new SplittableRandom(99);
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) logits[i] = (float) (random.nextGaussian() * 3.5);
        int[] tokens = new int[300];
        for (int i = 0; i < tokens.length; i++) tokens[i] = random.nextInt(vocab);
        float[] row = new float[vocab];
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        for (SamplingSettings settings : new SamplingSettings[]{
                SamplingSettings.chatDefaults(),
                new SamplingSettings(true, 0.95, 0, 0.7, 1.1), // top-p over the whole vocabulary
                new SamplingSettings(true, 1.3, 0, 0.999, 1.0), // a big nucleus: large sorts
                new SamplingSettings(true, 0.8, 0, 1.0, 1.0),
                new SamplingSettings(false, 1.0, 0, 1.0, 1.3)}) {
            ScorePipeline pipeline = new ScorePipeline(settings, vocab);
            Sampler sampler = Sampler.seeded(1);
            for (int i = 0; i < 3; i++) { // warm up class loading / lazy init
                System.arraycopy(logits, 0, row, 0, vocab);
                pipeline.nextToken(row, 0, tokens, tokens.length, sampler);
            }
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 10; i++) {
                System.arraycopy(logits, 0, row, 0, vocab);
                tokens[i] = pipeline.nextToken(row, 0, tokens, tokens.length, sampler);
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertThat(allocated).as("%s: bytes allocated by 10 steps", settings).isLessThan(1024);
        }
    }
}
