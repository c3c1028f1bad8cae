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
    private final PrefixEncoder prefix;
    private final float[] prefixPast;   // [pre, 2·L·h], computed once: every sequence starts with it
    private final KvCache.Precision kvPrecision;

    /**
     * A model without a prefix encoder and with float32 KV caches. The pool is shared, not owned: closing it is the
     * caller's business.
     */
    public ChatGlmModel(ChatGlmWeights weights, Parallel pool) {
        this(weights, null, pool);
    }

    /** A model with a P-Tuning v2 prefix encoder (null for none) and float32 KV caches. */
    public ChatGlmModel(ChatGlmWeights weights, PrefixEncoder prefix, Parallel pool) {
        this(weights, prefix, pool, KvCache.Precision.F32);
    }

    /**
     * A model with a P-Tuning v2 prefix encoder (null for none) and KV caches of the given precision.
     *
     * @param kvPrecision precision of the caches of {@link #newCache()} (F32 is exact, F16 halves their memory, AUTO
     *                    picks F32 for small models and F16 for large ones)
     */
    public ChatGlmModel(ChatGlmWeights weights, PrefixEncoder prefix, Parallel pool, KvCache.Precision kvPrecision) {
        this.config = prefix == null ? weights.config()
                : weights.config().withPrefix(prefix.preSeqLen(), prefix.projection());
        this.kvPrecision = kvPrecision.resolve(config);
        this.weights = weights;
        this.rotary = config.isGlm2() ? null : new Rotary(config.rotaryDim());
        this.pool = pool;
        this.prefix = prefix;
        this.prefixPast = prefix == null ? null : prefix.pastKeyValues(config);
    }

    /** Precision of the caches of {@link #newCache()} ({@code AUTO} already resolved). */
    public KvCache.Precision kvPrecision() {
        return kvPrecision;
    }

    /** The P-Tuning v2 prefix encoder, or null when the model has none. */
    public PrefixEncoder prefixEncoder() {
        return prefix;
    }

    /** The configuration, with the prefix length and projection of the prefix encoder when there is one. */
    public ChatGlmConfig config() {
        return config;
    }

    /** The weights, shared by every runner. */
    public ChatGlmWeights weights() {
        return weights;
    }

    Rotary rotary() {
        return rotary;
    }

    Parallel pool() {
        return pool;
    }

    /** A new runner with its own scratch buffers: one per thread that runs forward passes. */
    public Runner newRunner() {
        return new Runner(this);
    }

    /** An empty cache for a new sequence, holding the P-tuning prefix keys/values if the model has a prefix. */
    public KvCache newCache() {
        return prefixPast == null ? newCache(null, 0) : newCache(prefixPast, prefix.preSeqLen());
    }

    /**
     * An empty cache starting with the given prefix keys/values {@code past} ({@code [pre, 2·L·w]}, the prefix
     * encoder's output layout, w = groups·head size; null for none), whatever prefix this model has: training
     * changes it every step.
     */
    public KvCache newCache(float[] past, int pre) {
        // v1: one key/value per head; v2: per key/value group only (16x smaller at the 6B geometry)
        KvCache cache = new KvCache(config.numLayers(), config.kvGroups(), config.headSize(), kvPrecision);
        if (past != null) {
            float[] prefixPast = past;
            int w = config.kvWidth(), hd = config.headSize(), row = 2 * config.numLayers() * w;
            if (past.length != pre * row) {
                throw new IllegalArgumentException("prefix of " + past.length + " values, expected " + pre * row);
            }
            cache.reserve(pre);
            for (int l = 0; l < config.numLayers(); l++) {
                for (int p = 0; p < pre; p++) {
                    int k = p * row + 2 * l * w, v = k + w;   // [pre, 2L, groups, hd]: slice 2l keys, 2l+1 values
                    for (int hh = 0; hh < config.kvGroups(); hh++) {
                        cache.put(l, p, hh, prefixPast, k + hh * hd, prefixPast, v + hh * hd);
                    }
                }
            }
            cache.advance(pre);
            cache.markPrefix(pre);
        }
        return cache;
    }
}
