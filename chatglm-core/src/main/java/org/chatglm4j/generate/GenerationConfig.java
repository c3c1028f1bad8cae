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
 * @param eosTokenIds  ids that end generation (the reference's {@code eos_token_id}); empty: the model's own eos
 * @param numBeams     1: one sequence (greedy or sampling); more: beam search with that many beams, as transformers
 *                     4.27.1 runs it with {@code do_sample=False} (see {@link BeamSearch}); beam <em>sampling</em>
 *                     ({@code do_sample=True} with beams) is not implemented and refused
 * @param lengthPenalty beam search: a finished hypothesis scores {@code sum_logprobs / length^lengthPenalty}, the
 *                     length counting the prompt (transformers' default 1.0)
 * @param earlyStopping beam search: stop as soon as {@code numBeams} hypotheses are finished (default false: stop
 *                     when the 4.27.1 heuristic says no running beam can do better)
 */
public record GenerationConfig(int maxLength, int maxNewTokens, SamplingSettings sampling, Long seed, List<String> stop,
                               List<Integer> eosTokenIds, int numBeams, double lengthPenalty, boolean earlyStopping) {

    /** Checks the limits and the stop strings. */
    public GenerationConfig {
        if (maxLength < 1) throw new ChatGlmException("max_length must be at least 1, got " + maxLength);
        if (maxNewTokens < 0) throw new ChatGlmException("max_new_tokens must not be negative, got " + maxNewTokens);
        if (sampling == null) throw new ChatGlmException("sampling settings are required");
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (String s : stop) if (s.isEmpty()) throw new ChatGlmException("stop strings must not be empty");
        eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
        if (numBeams < 1) throw new ChatGlmException("num_beams must be at least 1, got " + numBeams);
        if (numBeams > MAX_BEAMS) {
            throw new ChatGlmException("num_beams must be at most " + MAX_BEAMS + ", got " + numBeams);
        }
        if (!Double.isFinite(lengthPenalty)) {
            throw new ChatGlmException("length_penalty must be a finite number, got " + lengthPenalty);
        }
    }

    /** More beams than this cost a batch too large to be a sensible request (each beam is a sequence). */
    public static final int MAX_BEAMS = 32;

    /** The model's own eos ends generation; one sequence (num_beams 1, length_penalty 1.0, early_stopping false). */
    public GenerationConfig(int maxLength, int maxNewTokens, SamplingSettings sampling, Long seed, List<String> stop) {
        this(maxLength, maxNewTokens, sampling, seed, stop, List.of(), 1, 1.0, false);
    }

    /**
     * The reference's {@code eos_token_id} argument of {@code generate()}: any of these ids ends generation (ChatGLM3's
     * {@code chat()} passes {@code </s>}, {@code <|user|>} and {@code <|observation|>}). Empty: the model's own eos.
     */
    public GenerationConfig withEosTokenIds(List<Integer> ids) {
        return new GenerationConfig(maxLength, maxNewTokens, sampling, seed, stop, ids, numBeams, lengthPenalty,
                earlyStopping);
    }

    /** chat()'s defaults: max_length 2048, sampling with temperature 0.95, top_p 0.7, top_k 50. */
    public static GenerationConfig chatDefaults() {
        return new GenerationConfig(2048, 0, SamplingSettings.chatDefaults(), null, List.of());
    }

    /** Greedy decoding up to {@code maxLength} tokens, prompt included. */
    public static GenerationConfig greedy(int maxLength) {
        return new GenerationConfig(maxLength, 0, SamplingSettings.greedy(), null, List.of());
    }

    /** The length limit for a prompt of {@code promptLength} tokens. */
    public int limitFor(int promptLength) {
        return maxNewTokens > 0 ? promptLength + maxNewTokens : maxLength;
    }

    /** Whether this asks for beam search ({@code num_beams > 1}). */
    public boolean beamSearch() {
        return numBeams > 1;
    }

    /**
     * Refuses what beam search cannot do, before any work: beam sampling (transformers' {@code beam_sample}, which
     * {@code num_beams > 1} with {@code do_sample=True} selects) and stop strings (a beam's text is only known
     * when the search ends).
     */
    public void checkBeamSearch() {
        if (!beamSearch()) return;
        if (sampling.doSample()) {
            throw new ChatGlmException("num_beams " + numBeams + " with sampling is beam sampling, which is not "
                    + "supported: use greedy decoding (do_sample=False, --greedy) for beam search");
        }
        if (!stop.isEmpty()) throw new ChatGlmException("stop strings are not supported with beam search");
    }

    /** A copy with another {@code max_length}. */
    public GenerationConfig withMaxLength(int n) {
        return new GenerationConfig(n, maxNewTokens, sampling, seed, stop, eosTokenIds, numBeams, lengthPenalty,
                earlyStopping);
    }

    /** A copy with another {@code max_new_tokens} (0: use {@code max_length}). */
    public GenerationConfig withMaxNewTokens(int n) {
        return new GenerationConfig(maxLength, n, sampling, seed, stop, eosTokenIds, numBeams, lengthPenalty,
                earlyStopping);
    }

    /** A copy with other sampling settings. */
    public GenerationConfig withSampling(SamplingSettings s) {
        return new GenerationConfig(maxLength, maxNewTokens, s, seed, stop, eosTokenIds, numBeams, lengthPenalty,
                earlyStopping);
    }

    /** A copy with another sampler seed (null: a fresh one). */
    public GenerationConfig withSeed(Long s) {
        return new GenerationConfig(maxLength, maxNewTokens, sampling, s, stop, eosTokenIds, numBeams, lengthPenalty,
                earlyStopping);
    }

    /** A copy with other stop strings. */
    public GenerationConfig withStop(List<String> s) {
        return new GenerationConfig(maxLength, maxNewTokens, sampling, seed, s, eosTokenIds, numBeams, lengthPenalty,
                earlyStopping);
    }

    /** Beam search settings (num_beams, length_penalty, early_stopping). */
    public GenerationConfig withBeams(int beams, double penalty, boolean early) {
        return new GenerationConfig(maxLength, maxNewTokens, sampling, seed, stop, eosTokenIds, beams, penalty, early);
    }
}
