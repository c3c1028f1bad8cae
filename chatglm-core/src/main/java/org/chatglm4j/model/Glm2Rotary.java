package org.chatglm4j.model;

/**
 * ChatGLM2/3's rotary embedding: only the first {@code r = headSize/2} dimensions of a head rotate, as r/2
 * INTERLEAVED pairs {@code (x[2i], x[2i+1])} with angle {@code pos·θ_i}, {@code θ_i = 1/10000^(2i/r)}; the other
 * half passes unchanged. θ, the angles and their cos/sin are float32 as in the reference (no fp16 rounding, unlike
 * ChatGLM-6B's {@link Rotary}).
 */
final class Glm2Rotary {
    private final int dim;
    private final float[] theta;

    /** @param dim the rotating dimensions r (half the head size) */
    Glm2Rotary(int dim) {
        if (dim % 2 != 0) throw new IllegalArgumentException("rotary dim must be even, got " + dim);
        this.dim = dim;
        this.theta = new float[dim / 2];
        for (int i = 0; i < dim / 2; i++) {
            float exponent = (float) (2 * i) / dim;                       // arange(0, r, 2) / r, float32
            theta[i] = 1f / (float) Math.pow(10000.0, exponent);          // 1 / base ** x
        }
    }

    int pairs() {
        return theta.length;
    }

    /** cos and sin of position {@code t}'s angles: {@code dim/2} values each at {@code off}. */
    void angles(int t, float[] cos, float[] sin, int off) {
        float ft = t;
        for (int i = 0; i < theta.length; i++) {
            float a = ft * theta[i];
            cos[off + i] = (float) Math.cos(a);
            sin[off + i] = (float) Math.sin(a);
        }
    }

    /** Rotates the pairs of {@code x[off, off + dim)} in place with the angles at {@code cos/sin[aOff…]}. */
    void apply(float[] x, int off, float[] cos, float[] sin, int aOff) {
        for (int i = 0; i < theta.length; i++) {
            float x0 = x[off + 2 * i], x1 = x[off + 2 * i + 1];
            float c = cos[aOff + i], s = sin[aOff + i];
            x[off + 2 * i] = x0 * c - x1 * s;
            x[off + 2 * i + 1] = x1 * c + x0 * s;
        }
    }
}
