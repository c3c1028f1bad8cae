package org.chatglm4j.tensor;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

import static jdk.incubator.vector.VectorOperators.ADD;

/**
 * Vector kernels of the quantized formats, written for 256-bit vectors (eight floats): fused dequantize-and-dot
 * for decode and dequantization of tiles for prefill. They use fixed 256-bit species, which every x86-64 CPU with
 * AVX2 runs natively.
 *
 * <p>4-bit values are turned into floats without an integer-to-float conversion: a nibble {@code u} moved into the
 * top of the mantissa of 1.0 gives exactly {@code 1 + u/16}, so a unit costs one shift, one mask and one or per
 * eight values. Dot products accumulate {@code S = Σ (1 + u/16)·x}, and since {@code q = u − 8},
 * {@code Σ q·x = 16·S − 24·Σx} with Σx precomputed per block of the input.
 */
final class QuantKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    private static final int ONE = 0x3F800000;          // bits of 1.0f
    private static final int MANTISSA_NIBBLE = 0xF << 19;

    private QuantKernels() {
    }

    /** Lanes of {@code 1 + u/16} for nibble k of every lane of {@code w}: values 8k … 8k+7 of a unit. */
    private static FloatVector nibbles(IntVector w, int k) {
        int shift = 19 - 4 * k;
        IntVector moved = shift >= 0 ? w.lanewise(VectorOperators.LSHL, shift) : w.lanewise(VectorOperators.LSHR, -shift);
        return moved.and(MANTISSA_NIBBLE).or(ONE).reinterpretAsFloats();
    }

    /** {@code S = Σ (1 + u/16)·x} over the first {@code units} full units of a 4-bit row. */
    static float q4Dot(MemorySegment q, long rowBase, int units, float[] x, int xo) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        for (int u = 0; u < units; u++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            int xb = xo + u * Q4Layout.UNIT;
            s0 = nibbles(w, 0).fma(FloatVector.fromArray(F, x, xb), s0);
            s1 = nibbles(w, 1).fma(FloatVector.fromArray(F, x, xb + 8), s1);
            s0 = nibbles(w, 2).fma(FloatVector.fromArray(F, x, xb + 16), s0);
            s1 = nibbles(w, 3).fma(FloatVector.fromArray(F, x, xb + 24), s1);
            s0 = nibbles(w, 4).fma(FloatVector.fromArray(F, x, xb + 32), s0);
            s1 = nibbles(w, 5).fma(FloatVector.fromArray(F, x, xb + 40), s1);
            s0 = nibbles(w, 6).fma(FloatVector.fromArray(F, x, xb + 48), s0);
            s1 = nibbles(w, 7).fma(FloatVector.fromArray(F, x, xb + 56), s1);
        }
        return s0.add(s1).reduceLanes(ADD);
    }

    /** Per-32-block scaled version: {@code Σ_b 16·d_b·S_b} over full units; scales are fp16 at {@code scaleBase}. */
    static float q4DotGrouped(MemorySegment q, long rowBase, MemorySegment scales, long scaleBase, int units,
                              float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int u = 0; u < units; u++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            int xb = xo + u * Q4Layout.UNIT;
            FloatVector a = nibbles(w, 0).mul(FloatVector.fromArray(F, x, xb));
            a = nibbles(w, 1).fma(FloatVector.fromArray(F, x, xb + 8), a);
            a = nibbles(w, 2).fma(FloatVector.fromArray(F, x, xb + 16), a);
            a = nibbles(w, 3).fma(FloatVector.fromArray(F, x, xb + 24), a);
            FloatVector b = nibbles(w, 4).mul(FloatVector.fromArray(F, x, xb + 32));
            b = nibbles(w, 5).fma(FloatVector.fromArray(F, x, xb + 40), b);
            b = nibbles(w, 6).fma(FloatVector.fromArray(F, x, xb + 48), b);
            b = nibbles(w, 7).fma(FloatVector.fromArray(F, x, xb + 56), b);
            float d0 = Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 4L * u));
            float d1 = Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 4L * u + 2));
            acc = a.fma(FloatVector.broadcast(F, 16 * d0), acc);
            acc = b.fma(FloatVector.broadcast(F, 16 * d1), acc);
        }
        return acc.reduceLanes(ADD);
    }

    /**
     * Dequantizes values {@code [k0, k0 + kl)} of a 4-bit row into {@code dst[d…]}: {@code w = scale·(u − 8)}, the
     * scale being {@code rowScale} or, when {@code scales} is not null, the fp16 scale of the value's 32-block at
     * {@code scaleBase}. Vector path for whole units, scalar otherwise.
     */
    static void q4Decode(MemorySegment q, long rowBase, int k0, int kl, float[] dst, int d,
                         float rowScale, MemorySegment scales, long scaleBase) {
        int k = k0, end = k0 + kl;
        while (k < end) {
            if (k % Q4Layout.UNIT == 0 && k + Q4Layout.UNIT <= end) {
                IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) (k / Q4Layout.UNIT) * Q4Layout.UNIT_BYTES, F16.LE);
                float sa = scale(rowScale, scales, scaleBase, k), sb = scale(rowScale, scales, scaleBase, k + 32);
                // w = s·(16·(1 + u/16) − 24)
                FloatVector ma = FloatVector.broadcast(F, 16 * sa), ca = FloatVector.broadcast(F, -24 * sa);
                FloatVector mb = FloatVector.broadcast(F, 16 * sb), cb = FloatVector.broadcast(F, -24 * sb);
                int o = d + (k - k0);
                nibbles(w, 0).fma(ma, ca).intoArray(dst, o);
                nibbles(w, 1).fma(ma, ca).intoArray(dst, o + 8);
                nibbles(w, 2).fma(ma, ca).intoArray(dst, o + 16);
                nibbles(w, 3).fma(ma, ca).intoArray(dst, o + 24);
                nibbles(w, 4).fma(mb, cb).intoArray(dst, o + 32);
                nibbles(w, 5).fma(mb, cb).intoArray(dst, o + 40);
                nibbles(w, 6).fma(mb, cb).intoArray(dst, o + 48);
                nibbles(w, 7).fma(mb, cb).intoArray(dst, o + 56);
                k += Q4Layout.UNIT;
            } else {
                dst[d + (k - k0)] = scale(rowScale, scales, scaleBase, k) * (Q4Layout.get(q, rowBase, k) - 8);
                k++;
            }
        }
    }

    /** The row's scale, or the fp16 scale of column k's 32-block. */
    static float scale(float rowScale, MemorySegment scales, long scaleBase, int k) {
        return scales == null ? rowScale : Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 2L * (k / 32)));
    }

    /** {@code Σ q·x} over {@code n} (a multiple of 8) int8 values at {@code base}. */
    static float q8Dot(MemorySegment q, long base, int n, float[] x, int xo) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0;
        int k = 0;
        for (; k + 16 <= n; k += 16) {
            s0 = int8(q, base + k).fma(FloatVector.fromArray(F, x, xo + k), s0);
            s1 = int8(q, base + k + 8).fma(FloatVector.fromArray(F, x, xo + k + 8), s1);
        }
        for (; k < n; k += 8) s0 = int8(q, base + k).fma(FloatVector.fromArray(F, x, xo + k), s0);
        return s0.add(s1).reduceLanes(ADD);
    }

    /** Per-32-block scaled int8 dot over {@code blocks} full blocks: {@code Σ_b d_b·Σ q·x}. */
    static float q8DotGrouped(MemorySegment q, long base, MemorySegment scales, long scaleBase, int blocks,
                              float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long o = base + 32L * b;
            int xb = xo + 32 * b;
            FloatVector s = int8(q, o).mul(FloatVector.fromArray(F, x, xb));
            s = int8(q, o + 8).fma(FloatVector.fromArray(F, x, xb + 8), s);
            s = int8(q, o + 16).fma(FloatVector.fromArray(F, x, xb + 16), s);
            s = int8(q, o + 24).fma(FloatVector.fromArray(F, x, xb + 24), s);
            float d = Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 2L * b));
            acc = s.fma(FloatVector.broadcast(F, d), acc);
        }
        return acc.reduceLanes(ADD);
    }

    /** Eight int8 values at byte {@code off}, as floats. */
    static FloatVector int8(MemorySegment q, long off) {
        IntVector i = (IntVector) ByteVector.fromMemorySegment(B, q, off, F16.LE).convertShape(VectorOperators.B2I, I, 0);
        return (FloatVector) i.convert(VectorOperators.I2F, 0);
    }

    /** Dequantizes int8 values {@code [k0, k0 + n)} of the row at {@code base}; scales as in {@link #q4Decode}. */
    static void q8Decode(MemorySegment q, long base, int k0, int n, float[] dst, int d,
                         float rowScale, MemorySegment scales, long scaleBase) {
        int k = 0;
        for (; k + 8 <= n && (k0 + k) % 8 == 0; k += 8) {
            int8(q, base + k0 + k).mul(scale(rowScale, scales, scaleBase, k0 + k)).intoArray(dst, d + k);
        }
        for (; k < n; k++) {
            dst[d + k] = scale(rowScale, scales, scaleBase, k0 + k) * q.get(java.lang.foreign.ValueLayout.JAVA_BYTE, base + k0 + k);
        }
    }
}
