package org.chatglm4j.model;

import org.chatglm4j.tensor.Parallel;

/**
 * ChatGLM-6B: configuration, weights and the compute pool. Immutable and shareable; forward passes run in a
 * {@link Runner} (one per thread), each sequence keeps its own {@link KvCache}.
 */
public final class ChatGlmModel {
    /**
     * The residual scale is ALWAYS √(2·28): the reference's GLMBlock takes {@code num_layers=28} as a default
     * argument that ChatGLMModel never passes, whatever {@code config.num_layers} says.
     */
    static final float ALPHA = (float) Math.sqrt(2 * 28);

    private final ChatGlmConfig config;
    private final ChatGlmWeights weights;
    private final Rotary rotary;
    private final Parallel pool;

    public ChatGlmModel(ChatGlmWeights weights, Parallel pool) {
        this.config = weights.config();
        this.weights = weights;
        this.rotary = new Rotary(config.rotaryDim());
        this.pool = pool;
    }

    public ChatGlmConfig config() {
        return config;
    }

    public ChatGlmWeights weights() {
        return weights;
    }

    Rotary rotary() {
        return rotary;
    }

    Parallel pool() {
        return pool;
    }

    public Runner newRunner() {
        return new Runner(this);
    }

    public KvCache newCache() {
        return new KvCache(config.numLayers(), config.numAttentionHeads(), config.headSize());
    }
}
