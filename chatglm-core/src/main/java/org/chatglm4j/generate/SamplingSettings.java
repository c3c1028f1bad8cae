package org.chatglm4j.generate;

import org.chatglm4j.ChatGlmException;

/**
 * How the next token is chosen from the model's scores, with the knobs and skip rules of the reference
 * (transformers 4.27 {@code generate()} as driven by ChatGLM-6B's {@code chat()}).
 *
 * @param doSample          {@code false}: greedy, the next token is the argmax of the processed scores and the
 *                          warpers (temperature, top-k, top-p) are not used; {@code true}: draw from the warped
 *                          distribution
 * @param temperature       finite and {@code > 0}; scores are divided by {@code float32(temperature)};
 *                          {@code 1.0} turns the warper off
 * @param topK              {@code >= 0}; keep the scores {@code >=} the k-th largest; {@code 0} turns it off
 * @param topP              {@code > 0}; nucleus filtering, values {@code >= 1.0} turn it off
 * @param repetitionPenalty finite and {@code > 0}; applied to every id already in the sequence;
 *                          {@code 1.0} turns it off
 */
public record SamplingSettings(boolean doSample, double temperature, int topK, double topP, double repetitionPenalty) {

    /** Rejects the values the reference raises for. */
    public SamplingSettings {
        // the reference raises for these values (TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper,
        // RepetitionPenaltyLogitsProcessor); top_p == 0 is accepted there but removes every token (NaN probabilities)
        if (!(temperature > 0) || !Double.isFinite(temperature)) {
            throw new ChatGlmException("sampling settings: temperature must be a finite number > 0, got " + temperature);
        }
        if (topK < 0) {
            throw new ChatGlmException("sampling settings: top_k must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0)) {
            throw new ChatGlmException("sampling settings: top_p must be > 0 (>= 1 = off), got " + topP);
        }
        if (!(repetitionPenalty > 0) || !Double.isFinite(repetitionPenalty)) {
            throw new ChatGlmException(
                    "sampling settings: repetition_penalty must be a finite number > 0 (1 = off), got " + repetitionPenalty);
        }
    }

    /** Greedy decoding, as the reference {@code generate()} without {@code do_sample}. */
    public static SamplingSettings greedy() {
        return new SamplingSettings(false, 1.0, 0, 1.0, 1.0);
    }

    /**
     * What ChatGLM-6B's {@code chat()} / {@code stream_chat()} use by default: {@code do_sample=True,
     * temperature=0.95, top_p=0.7}, and {@code top_k=50} from transformers' GenerationConfig default.
     */
    public static SamplingSettings chatDefaults() {
        return new SamplingSettings(true, 0.95, 50, 0.7, 1.0);
    }

    /** A copy with another {@code doSample}. */
    public SamplingSettings withDoSample(boolean sample) {
        return new SamplingSettings(sample, temperature, topK, topP, repetitionPenalty);
    }

    boolean temperatureActive() {
        return temperature != 1.0;
    }

    boolean topKActive() {
        return topK != 0;
    }

    boolean topPActive() {
        return topP < 1.0;
    }

    boolean repetitionPenaltyActive() {
        return repetitionPenalty != 1.0;
    }
}
