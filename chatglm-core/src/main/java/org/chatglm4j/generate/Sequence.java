package org.chatglm4j.generate;

import org.chatglm4j.model.AttentionMask;
import org.chatglm4j.model.Batch;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.model.PromptLayout;

import java.util.Arrays;

/**
 * One sequence being generated, as transformers' {@code generate()} runs it for ChatGLM: the prompt in one forward
 * pass (its mask and positions from {@link PromptLayout}), then one token per step fed with the cache at the
 * reference's decode positions. The step loop is outside: a {@link Generator} drives one sequence, a scheduler
 * can put many in one {@link Batch}.
 */
public final class Sequence implements AutoCloseable {
    private final ChatGlmConfig cfg;
    private final KvCache cache;
    private final PromptLayout layout;
    private final ScorePipeline pipeline;
    private final Sampler sampler;
    private final int promptLength;
    private final int limit;
    private final int[] eosIds;
    private final int positionOffset;
    private int[] tokens;
    private int length;
    private boolean prefilled;
    private FinishReason finish;

    /** A sequence to generate after {@code promptIds}, with its own attention cache and sampler. */
    public Sequence(ChatGlmModel model, int[] promptIds, GenerationConfig config) {
        this(model, model.newCache(), promptIds, config);
    }

    /**
     * ChatGLM2/3 generating on top of a cache that holds earlier tokens (the reference's {@code past_key_values}):
     * the new ids take the positions after the cached tokens and see all of them; {@code max_length} counts only
     * the new ids and what is generated. The cache is the caller's: closing this sequence closes it.
     */
    public static Sequence continuing(ChatGlmModel model, KvCache cache, int[] newIds, GenerationConfig config) {
        if (!model.config().isGlm2()) {
            throw new org.chatglm4j.ChatGlmException("only ChatGLM2/3 models continue generation on a kept cache");
        }
        return new Sequence(model, cache, newIds, config);
    }

    private Sequence(ChatGlmModel model, KvCache cache, int[] promptIds, GenerationConfig config) {
        if (promptIds.length == 0) throw new org.chatglm4j.ChatGlmException("the prompt is empty");
        this.cfg = model.config();
        // ChatGLM2/3 need no layout: plain positions 0..n-1 and a causal mask, whatever the special tokens
        this.layout = cfg.isGlm2() ? null : PromptLayout.of(promptIds, cfg);
        this.cache = cache;
        this.positionOffset = cache.tokens();
        this.pipeline = new ScorePipeline(config.sampling(), cfg.vocabSize());
        this.sampler = config.sampling().doSample()
                ? Sampler.seeded(config.seed() != null ? config.seed() : System.nanoTime() ^ Thread.currentThread().threadId())
                : null;
        this.promptLength = promptIds.length;
        this.limit = config.limitFor(promptIds.length);
        this.eosIds = config.eosTokenIds().stream().mapToInt(Integer::intValue).toArray();
        this.tokens = Arrays.copyOf(promptIds, Math.max(promptIds.length + 16, Math.min(limit, promptIds.length + 512)));
        this.length = promptIds.length;
    }

    /** Adds this sequence's next forward input to {@code batch}: the whole prompt first, then its last token. */
    public void addTo(Batch batch) {
        if (finish != null) throw new IllegalStateException("sequence is finished");
        if (layout == null) {   // ChatGLM2/3: each token at the next 1D position (cached decoding = a full re-run)
            if (!prefilled) {
                int[] positions = new int[length];
                for (int i = 0; i < length; i++) positions[i] = positionOffset + i;
                batch.add(cache, Arrays.copyOf(tokens, length), positions, null, AttentionMask.prompt(0), false);
                prefilled = true;
            } else {
                batch.add(cache, tokens[length - 1], positionOffset + length - 1, 0);
            }
            return;
        }
        if (!prefilled) {
            int[] prompt = Arrays.copyOf(tokens, length);
            batch.add(cache, prompt, layout.positions(length, cfg.positionEncoding2d()),
                    cfg.positionEncoding2d() ? layout.blockPositions(length) : null, layout.mask(), false);
            prefilled = true;
        } else {
            addDecodeTo(batch, cache, tokens[length - 1], length);
        }
    }

    /**
     * Adds one decode step of a sequence that has this one's prompt: {@code token}, the last of its
     * {@code length} tokens, with {@code cache} holding the others. Beam search feeds its beams this way.
     */
    public void addDecodeTo(Batch batch, KvCache cache, int token, int length) {
        batch.add(cache, token, layout.decodePosition(), layout.decodeBlockPosition(length));
    }

    /**
     * Chooses the next token from this sequence's last-position logits (overwritten with the processed scores),
     * appends it — even {@code <eop>}, as the reference does — and decides whether generation is over.
     */
    public int accept(float[] logits, int offset) {
        int token = pipeline.nextToken(logits, offset, tokens, length, sampler);
        if (length == tokens.length) tokens = Arrays.copyOf(tokens, Math.max(length * 2, 16));
        tokens[length++] = token;
        if (isEos(token)) finish = FinishReason.EOS;
        else if (length >= limit) finish = FinishReason.LENGTH;
        return token;
    }

    private boolean isEos(int token) {
        if (eosIds.length == 0) return token == cfg.eosTokenId();
        for (int e : eosIds) if (e == token) return true;
        return false;
    }

    /** Ends generation early (cancellation, a stop string, a listener's request). */
    public void stop(FinishReason reason) {
        if (finish == null) finish = reason;
    }

    /** Whether generation is over. */
    public boolean finished() {
        return finish != null;
    }

    /** Why it is over; null while it runs. */
    public FinishReason finishReason() {
        return finish;
    }

    /** The prompt's ids (a copy). */
    public int[] promptIds() {
        return Arrays.copyOf(tokens, promptLength);
    }

    /** The ids generated so far (a copy). */
    public int[] generatedIds() {
        return Arrays.copyOfRange(tokens, promptLength, length);
    }

    /** How many ids were generated so far. */
    public int generatedCount() {
        return length - promptLength;
    }

    /** The attention cache (closed by whoever retires the sequence). */
    public KvCache cache() {
        return cache;
    }

    /** Frees the KV cache; the sequence cannot take more steps. */
    @Override
    public void close() {
        cache.close();
        if (finish == null) finish = FinishReason.CANCELLED;
    }
}
