package org.chatglm4j.model;

/**
 * Rotary position embedding as ChatGLM-6B computes it. The inverse frequencies {@code 1/10000^(2i/R)} are computed
 * in float32 and then ROUNDED TO FP16 (the reference builds them with {@code .half()} in {@code __init__} and
 * never loads the {@code inv_freq} stored in checkpoints); angles are the float32 product {@code t·inv_freq}.
 * A vector {@code x} of size R rotates as {@code x·cos + rotate_half(x)·sin}, {@code rotate_half(x) =
 * [-x[R/2:], x[:R/2]]}, so element i pairs with element {@code i ± R/2}.
 */
public final class Rotary {
    private final int dim;
    private final float[] invFreq;

    /** The fp16-rounded inverse frequencies of a rotary embedding over {@code dim} values (even). */
    public Rotary(int dim) {
        if (dim % 2 != 0) throw new IllegalArgumentException("rotary dim must be even, got " + dim);
        this.dim = dim;
        this.invFreq = new float[dim / 2];
        for (int i = 0; i < dim / 2; i++) {
            float exponent = (float) (2 * i) / dim;                          // arange(0, R, 2).float() / R
            float power = (float) Math.pow(10000.0, exponent);               // base ** x, a float32 tensor
            float f = 1f / power;                                            // 1. / (...) in float32
            invFreq[i] = Float.float16ToFloat(Float.floatToFloat16(f));      // .half()
        }
    }

    /** Size R of the rotated part of a head. */
    public int dim() {
        return dim;
    }

    /** cos and sin of the angles of position {@code t}: {@code dim/2} values each (emb repeats them twice). */
    public void angles(int t, float[] cos, float[] sin, int off) {
        float ft = t;
        for (int i = 0; i < invFreq.length; i++) {
            float a = ft * invFreq[i];
            cos[off + i] = (float) Math.cos(a);
            sin[off + i] = (float) Math.sin(a);
        }
    }

    /** Rotates {@code x[off, off + dim)} in place with the angles at {@code cos/sin[aOff, aOff + dim/2)}. */
    public void apply(float[] x, int off, float[] cos, float[] sin, int aOff) {
        int half = dim / 2;
        for (int i = 0; i < half; i++) {
            float x1 = x[off + i], x2 = x[off + half + i];
            float c = cos[aOff + i], s = sin[aOff + i];
            x[off + i] = x1 * c + (-x2) * s;
            x[off + half + i] = x2 * c + x1 * s;
        }
    }

    /** The transpose of {@link #apply} (rotation by the opposite angles): carries a gradient back through it. */
    public void applyTransposed(float[] x, int off, float[] cos, float[] sin, int aOff) {
        int half = dim / 2;
        for (int i = 0; i < half; i++) {
            float g1 = x[off + i], g2 = x[off + half + i];
            float c = cos[aOff + i], s = sin[aOff + i];
            x[off + i] = g1 * c + g2 * s;
            x[off + half + i] = g2 * c - g1 * s;
        }
    }
}
