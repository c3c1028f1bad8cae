package org.chatglm4j.generate;

import org.chatglm4j.ChatGlmException;

import java.util.List;

/**
 * How much to generate and how to choose tokens.
 *
 * @param maxLength    prompt plus new tokens, as the reference counts it; at least one token is always generated
 * @param maxNewTokens when positive, overrides {@code maxLength} with {@code prompt length + maxNewTokens}
 * @param sampling     greedy or sampling, with the reference's warpers and their defaults
 * @param seed         seed of the sampler; null draws a fresh one (sampling is reproducible within chatglm4j for a
 *                     given seed, not bit-identical to torch.multinomial)
 * @param stop         strings that end the reply when they appear in its text (they are not part of the reply)
 */
public record GenerationConfig(int maxLength, int maxNewTokens, SamplingSettings sampling, Long seed, List<String> stop,
                               List<Integer> eosTokenIds) {

    public GenerationConfig {
        if (maxLength < 1) throw new ChatGlmException("max_length must be at least 1, got " + maxLength);
        if (maxNewTokens < 0) throw new ChatGlmException("max_new_tokens must not be negative, got " + maxNewTokens);
        if (sampling == null) throw new ChatGlmException("sampling settings are required");
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (String s : stop) if (s.isEmpty()) throw new ChatGlmException("stop strings must not be empty");
        eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
    }

    /** Without {@code eosTokenIds}: the model's own eos ends generation. */
    public GenerationConfig(int maxLength, int maxNewTokens, SamplingSettings sampling, Long seed, List<String> stop) {
        this(maxLength, maxNewTokens, sampling, seed, stop, List.of());
    }

    /**
     * The reference's {@code eos_token_id} argument of {@code generate()}: any of these ids ends generation (ChatGLM3's
     * {@code chat()} passes {@code </s>}, {@code <|user|>} and {@code <|observation|>}). Empty: the model's own eos.
     */
    public GenerationConfig withEosTokenIds(List<Integer> ids) {
        return new GenerationConfig(maxLength, maxNewTokens, sampling, seed, stop, ids);
    }

    /** chat()'s defaults: max_length 2048, sampling with temperature 0.95, top_p 0.7, top_k 50. */
    public static GenerationConfig chatDefaults() {
        return new GenerationConfig(2048, 0, SamplingSettings.chatDefaults(), null, List.of());
    }

    public static GenerationConfig greedy(int maxLength) {
        return new GenerationConfig(maxLength, 0, SamplingSettings.greedy(), null, List.of());
    }

    /** The length limit for a prompt of {@code promptLength} tokens. */
    public int limitFor(int promptLength) {
        return maxNewTokens > 0 ? promptLength + maxNewTokens : maxLength;
    }

    public GenerationConfig withMaxLength(int n) {
        return new GenerationConfig(n, maxNewTokens, sampling, seed, stop, eosTokenIds);
    }

    public GenerationConfig withMaxNewTokens(int n) {
        return new GenerationConfig(maxLength, n, sampling, seed, stop, eosTokenIds);
    }

    public GenerationConfig withSampling(SamplingSettings s) {
        return new GenerationConfig(maxLength, maxNewTokens, s, seed, stop, eosTokenIds);
    }

    public GenerationConfig withSeed(Long s) {
        return new GenerationConfig(maxLength, maxNewTokens, sampling, s, stop, eosTokenIds);
    }

    public GenerationConfig withStop(List<String> s) {
        return new GenerationConfig(maxLength, maxNewTokens, sampling, seed, s, eosTokenIds);
    }
}
