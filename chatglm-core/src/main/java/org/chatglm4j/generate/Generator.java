package org.chatglm4j.generate;

import org.chatglm4j.model.Batch;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.Runner;

/**
 * Generates one sequence at a time: the equivalent of the reference's {@code model.generate(input_ids, ...)}.
 * Not thread-safe (it owns a {@link Runner}); use one generator per thread.
 */
public final class Generator {
    private final ChatGlmModel model;
    private final Runner runner;
    private final Batch batch = new Batch();
    private final org.chatglm4j.model.Runner.LogitsSink sink = this::onLogits;
    private final org.chatglm4j.model.Runner.LogitsSink beamSink = this::onBeamLogits;
    private Sequence current;
    private BeamSearch beams;
    private int lastToken;

    /** A generator with its own runner (buffers) over {@code model}; one generation at a time. */
    public Generator(ChatGlmModel model) {
        this.model = model;
        this.runner = model.newRunner();
    }

    /** The model it runs. */
    public ChatGlmModel model() {
        return model;
    }

    /**
     * Generates from {@code inputIds} (as given: chat prompts end with {@code [gMASK] <sop>}) until {@code <eop>},
     * the length limit, the listener's request or cancellation.
     */
    public GenerationResult generate(int[] inputIds, GenerationConfig config, TokenListener listener,
                                     Cancellation cancellation) {
        if (config.beamSearch()) return beamSearch(inputIds, config, listener, cancellation);
        Sequence seq = new Sequence(model, inputIds, config);
        try {
            return run(seq, listener, cancellation);
        } finally {
            seq.cache().close();
        }
    }

    /**
     * Generates from {@code newIds} fed on top of {@code cache} (ChatGLM2/3, the reference's past_key_values), which
     * is left open holding every token fed — all but the last generated one, as in the reference.
     */
    public GenerationResult generateOn(org.chatglm4j.model.KvCache cache, int[] newIds, GenerationConfig config,
                                       TokenListener listener, Cancellation cancellation) {
        return run(Sequence.continuing(model, cache, newIds, config), listener, cancellation);
    }

    private GenerationResult run(Sequence seq, TokenListener listener, Cancellation cancellation) {
        current = seq;
        long t0 = System.nanoTime(), prefill = 0;
        try {
            while (!seq.finished()) {
                if (cancellation != null && cancellation.isCancelled()) {
                    seq.stop(FinishReason.CANCELLED);
                    break;
                }
                batch.clear();
                seq.addTo(batch);
                runner.forward(batch, sink);
                if (prefill == 0) prefill = System.nanoTime() - t0;
                if (!listener.onToken(lastToken)) seq.stop(FinishReason.STOP);
            }
        } finally {
            current = null;
            batch.clear();
        }
        long total = System.nanoTime() - t0;
        return new GenerationResult(seq.promptIds(), seq.generatedIds(), seq.finishReason(), prefill, total - prefill);
    }

    /**
     * Beam search ({@code num_beams > 1}): the K beams decode as one batch. The listener hears the chosen
     * hypothesis' tokens only at the end, when it is known.
     */
    private GenerationResult beamSearch(int[] inputIds, GenerationConfig config, TokenListener listener,
                                        Cancellation cancellation) {
        long t0 = System.nanoTime(), prefill = 0;
        try (BeamSearch search = new BeamSearch(model, inputIds, config)) {
            beams = search;
            while (!search.finished()) {
                if (cancellation != null && cancellation.isCancelled()) {
                    search.cancel();
                    break;
                }
                batch.clear();
                search.addTo(batch);
                runner.forward(batch, beamSink);
                if (prefill == 0) prefill = System.nanoTime() - t0;
            }
            long total = System.nanoTime() - t0;
            int[] generated = search.generatedIds();
            for (int token : generated) if (!listener.onToken(token)) break;
            return new GenerationResult(search.promptIds(), generated, search.finishReason(), prefill, total - prefill);
        } finally {
            beams = null;
            batch.clear();
        }
    }

    private void onBeamLogits(int segment, int index, float[] logits, int offset) {
        beams.accept(segment, logits, offset);
    }

    private void onLogits(int segment, int index, float[] logits, int offset) {
        lastToken = current.accept(logits, offset);
    }
}
