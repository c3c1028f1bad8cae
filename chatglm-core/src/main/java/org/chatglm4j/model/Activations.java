package org.chatglm4j.model;

/**
 * What a forward pass must keep for a backward pass through the frozen blocks (P-Tuning v2 training): per layer
 * the block's input, its q/k/v after the rotary embedding, the input of the second LayerNorm and the MLP's
 * pre-activation; and the input of the final LayerNorm. The weights are frozen, so no linear layer's input is
 * needed: only what the derivatives of LayerNorm, attention, GELU and the rotary embedding read.
 *
 * <p>Filled by {@link Runner#forward(Batch, Runner.LogitsSink, Activations)}; arrays grow on demand and are reused.
 */
public final class Activations {
    final int layers, h, inner;
    int rows;
    float[][] input;     // [layer][rows, h]       x entering the block
    float[][] qkv;       // [layer][rows, 3h]      q, k (rotated) and v, per head [q | k | v]
    float[][] middle;    // [layer][rows, h]       x entering the second LayerNorm
    float[][] preGelu;   // [layer][rows, inner]   W₁·LN₂(x) + b₁
    float[] last;        // [rows, h]              x entering the final LayerNorm

    /** Empty buffers for a model of {@code cfg}'s geometry; they are sized by the first forward that fills them. */
    public Activations(ChatGlmConfig cfg) {
        this.layers = cfg.numLayers();
        this.h = cfg.hiddenSize();
        this.inner = cfg.innerHiddenSize();
        this.input = new float[layers][];
        this.qkv = new float[layers][];
        this.middle = new float[layers][];
        this.preGelu = new float[layers][];
    }

    /** Bytes kept for {@code rows} rows of a model with this geometry. */
    public static long bytes(ChatGlmConfig cfg, int rows) {
        long perLayer = (long) rows * (5L * cfg.hiddenSize() + cfg.innerHiddenSize());
        return 4L * (perLayer * cfg.numLayers() + (long) rows * cfg.hiddenSize());
    }

    /** Token rows kept by the last forward (the batch's {@link Batch#rows()}). */
    public int rows() {
        return rows;
    }

    void begin(int rows) {
        this.rows = rows;
        for (int l = 0; l < layers; l++) {
            input[l] = grow(input[l], rows * h);
            qkv[l] = grow(qkv[l], rows * 3 * h);
            middle[l] = grow(middle[l], rows * h);
            preGelu[l] = grow(preGelu[l], rows * inner);
        }
        last = grow(last, rows * h);
    }

    private static float[] grow(float[] a, int n) {
        return a != null && a.length >= n ? a : new float[n];
    }
}
