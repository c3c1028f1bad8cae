package org.chatglm4j.generate;

import org.chatglm4j.ChatGlmException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SamplingSettingsTest {

    @Test
    void chatDefaultsAreThoseOfTheReferenceChat() {
        SamplingSettings s = SamplingSettings.chatDefaults();
        assertThat(s).isEqualTo(new SamplingSettings(true, 0.95, 50, 0.7, 1.0));
        assertThat(s.temperatureActive()).isTrue();
        assertThat(s.topKActive()).isTrue();
        assertThat(s.topPActive()).isTrue();
        assertThat(s.repetitionPenaltyActive()).isFalse();
        assertThat(s.withDoSample(false).doSample()).isFalse();
    }

    @Test
    void greedyTurnsEverythingOff() {
        SamplingSettings s = SamplingSettings.greedy();
        assertThat(s.doSample()).isFalse();
        assertThat(s.temperatureActive() || s.topKActive() || s.topPActive() || s.repetitionPenaltyActive()).isFalse();
    }

    @Test
    void skipRulesFollowTheReference() {
        assertThat(new SamplingSettings(true, 1.0, 0, 1.0, 1.0).topPActive()).isFalse();
        assertThat(new SamplingSettings(true, 1.0, 0, 1.5, 1.0).topPActive()).as("top_p > 1 is off").isFalse();
        assertThat(new SamplingSettings(true, 1.0, 0, Math.nextDown(1.0), 1.0).topPActive()).isTrue();
        assertThat(new SamplingSettings(true, 1.0000001, 0, 1.0, 1.0).temperatureActive()).isTrue();
        assertThat(new SamplingSettings(true, 1.0, 1, 1.0, 1.0).topKActive()).isTrue();
    }

    @Test
    void rejectsValuesTheReferenceRejects() {
        assertThatThrownBy(() -> new SamplingSettings(true, 0.0, 0, 1.0, 1.0)).isInstanceOf(ChatGlmException.class)
                .hasMessage("sampling settings: temperature must be a finite number > 0, got 0.0");
        assertThatThrownBy(() -> new SamplingSettings(true, -1, 0, 1.0, 1.0)).isInstanceOf(ChatGlmException.class);
        assertThatThrownBy(() -> new SamplingSettings(true, Double.NaN, 0, 1.0, 1.0)).isInstanceOf(ChatGlmException.class);
        assertThatThrownBy(() -> new SamplingSettings(true, Double.POSITIVE_INFINITY, 0, 1.0, 1.0))
                .isInstanceOf(ChatGlmException.class);
        assertThatThrownBy(() -> new SamplingSettings(true, 1.0, -1, 1.0, 1.0)).isInstanceOf(ChatGlmException.class)
                .hasMessage("sampling settings: top_k must be >= 0 (0 = off), got -1");
        assertThatThrownBy(() -> new SamplingSettings(true, 1.0, 0, 0.0, 1.0)).isInstanceOf(ChatGlmException.class)
                .hasMessage("sampling settings: top_p must be > 0 (>= 1 = off), got 0.0");
        assertThatThrownBy(() -> new SamplingSettings(true, 1.0, 0, Double.NaN, 1.0)).isInstanceOf(ChatGlmException.class);
        assertThatThrownBy(() -> new SamplingSettings(true, 1.0, 0, 1.0, 0.0)).isInstanceOf(ChatGlmException.class)
                .hasMessageContaining("repetition_penalty");
        assertThatThrownBy(() -> new SamplingSettings(true, 1.0, 0, 1.0, Double.NaN)).isInstanceOf(ChatGlmException.class);
    }
}
