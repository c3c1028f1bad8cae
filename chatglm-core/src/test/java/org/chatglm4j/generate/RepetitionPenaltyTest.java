package org.chatglm4j.generate;

import org.chatglm4j.ChatGlmException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** transformers 4.27 RepetitionPenaltyLogitsProcessor on hand-computed rows. */
class RepetitionPenaltyTest {

    @Test
    void dividesPositiveAndMultipliesNegativeScoresOncePerDistinctId() {
        float[] row = {2f, -2f, 0f, 4f, -1f, 3f, -0.5f, 1f};
        new RepetitionPenalty(1.5, 8).apply(row, 0, new int[]{0, 1, 1, 2, 6, 0, 1}, 7);
        // 2 / 1.5 = 1.3333334f (float32), -2 * 1.5 = -3, 0 is not < 0 so 0 / 1.5 = 0, -0.5 * 1.5 = -0.75
        assertThat(row).containsExactly(1.3333334f, -3f, 0f, 4f, -1f, 3f, -0.75f, 1f);
    }

    @Test
    void aPenaltyBelowOneRewardsRepeatedIds() {
        float[] row = {2f, -2f, 5f, 5f, 5f, 5f};
        new RepetitionPenalty(0.5, 6).apply(row, 0, new int[]{1, 0}, 2);
        assertThat(row).containsExactly(4f, -1f, 5f, 5f, 5f, 5f);
    }

    @Test
    void usesThePenaltyAsFloat32() {
        float[] row = {3f, -3f, 0f, 0f, 0f, 0f};
        new RepetitionPenalty(1.1, 6).apply(row, 0, new int[]{0, 1}, 2);
        // float32(1.1) = 1.10000002384185791015625: 3 / that = 2.7272727 (float), -3 * that = -3.3000002 (float)
        assertThat(row[0]).isEqualTo(2.7272727f);
        assertThat(row[1]).isEqualTo(-3.3000002f);
    }

    @Test
    void onlyTheFirstTokenCountIdsCountAndEachCallStartsAfresh() {
        RepetitionPenalty penalty = new RepetitionPenalty(2.0, 6);
        float[] row = {8f, 8f, 8f, 8f, 8f, 8f};
        penalty.apply(row, 0, new int[]{1, 2, 3}, 2);
        assertThat(row).containsExactly(8f, 4f, 4f, 8f, 8f, 8f);
        // id 1 was seen in the previous call; it must be penalized again in this one
        penalty.apply(row, 0, new int[]{1, 5}, 2);
        assertThat(row).containsExactly(8f, 2f, 4f, 8f, 8f, 4f);
    }

    @Test
    void worksOnASliceOfABiggerArray() {
        float[] buffer = {9f, 9f, 2f, -2f, 0f, 0f, 0f, 0f, 9f};
        new RepetitionPenalty(2.0, 6).apply(buffer, 2, new int[]{0, 1}, 2);
        assertThat(buffer).containsExactly(9f, 9f, 1f, -4f, 0f, 0f, 0f, 0f, 9f);
    }

    @Test
    void idsAboveSixtyFourUseTheirOwnBitWord() {
        float[] row = new float[200];
        java.util.Arrays.fill(row, 6f);
        new RepetitionPenalty(3.0, 200).apply(row, 0, new int[]{199, 64, 63, 128, 199}, 5);
        for (int i = 0; i < 200; i++) {
            boolean penalized = i == 199 || i == 64 || i == 63 || i == 128;
            assertThat(row[i]).as("id %d", i).isEqualTo(penalized ? 2f : 6f);
        }
    }

    @Test
    void rejectsIdsOutsideTheVocabularyWithoutTouchingTheRow() {
        RepetitionPenalty penalty = new RepetitionPenalty(2.0, 6);
        float[] row = {8f, 8f, 8f, 8f, 8f, 8f};
        assertThatThrownBy(() -> penalty.apply(row, 0, new int[]{1, 6}, 2))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("repetition penalty: token id 6 at position 1 is outside the vocabulary [0, 6)");
        assertThatThrownBy(() -> penalty.apply(row, 0, new int[]{-1}, 1))
                .isInstanceOf(ChatGlmException.class).hasMessageContaining("token id -1");
        assertThat(row).containsOnly(8f);
        // and the instance is still usable
        penalty.apply(row, 0, new int[]{1}, 1);
        assertThat(row).containsExactly(8f, 4f, 8f, 8f, 8f, 8f);
    }

    @Test
    void rejectsBadArguments() {
        assertThatThrownBy(() -> new RepetitionPenalty(0.0, 6)).isInstanceOf(ChatGlmException.class)
                .hasMessageContaining("finite number > 0");
        assertThatThrownBy(() -> new RepetitionPenalty(Double.NaN, 6)).isInstanceOf(ChatGlmException.class);
        assertThatThrownBy(() -> new RepetitionPenalty(Double.POSITIVE_INFINITY, 6)).isInstanceOf(ChatGlmException.class);
        RepetitionPenalty penalty = new RepetitionPenalty(2.0, 6);
        assertThatThrownBy(() -> penalty.apply(new float[5], 0, new int[0], 0))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> penalty.apply(new float[6], 0, new int[1], 2))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void runsBeforeTheInvalidScoreGuardInThePipeline() {
        SamplingSettings settings = new SamplingSettings(false, 1.0, 0, 1.0, 4.0);
        ScorePipeline pipeline = new ScorePipeline(settings, 8);
        // -1e38 * 4 overflows to -inf: the guard, which runs after the penalty, sees it and resets the row
        float[] row = {-1e38f, 1f, 2f, 3f, 4f, 0f, 7f, 1f};
        assertThat(pipeline.process(row, 0, new int[]{0}, 1)).isTrue();
        assertThat(row).containsExactly(0f, 0f, 0f, 0f, 0f, 5e4f, 0f, 0f);
        // without the overflow the penalty changes the argmax: 7 / 4 < 4
        float[] row2 = {-1f, 1f, 2f, 3f, 4f, 0f, 7f, 1f};
        assertThat(pipeline.nextToken(row2, 0, new int[]{6, 0}, 2, null)).isEqualTo(4);
        assertThat(row2).containsExactly(-4f, 1f, 2f, 3f, 4f, 0f, 1.75f, 1f);
    }

    @Test
    void isOffAtOne() {
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(false, 1.0, 0, 1.0, 1.0), 6);
        float[] row = {1f, -1f, 2f, 3f, 4f, 5f};
        // with the penalty off the token ids are not even looked at
        assertThat(pipeline.process(row, 0, new int[]{0, 1, 99}, 3)).isFalse();
        assertThat(row).containsExactly(1f, -1f, 2f, 3f, 4f, 5f);
    }
}
