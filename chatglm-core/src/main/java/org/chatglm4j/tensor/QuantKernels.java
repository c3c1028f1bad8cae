package org.chatglm4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;


/**
 * Vector kernels of the quantized formats, written for 256-bit vectors (eight floats): fused dequantize-and-dot
 * for decode and dequantization of tiles for prefill. They use fixed 256-bit species, which every x86-64 CPU with
 * AVX2 runs natively. Hot loops call no helper methods: C2 refuses to inline vector-heavy helpers past its size
 * limits, and a vector operation left as a call costs an allocation.
 */
final class QuantKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

    private QuantKernels() {
    }

    /**
     * The 4-bit kernels avoid shifting each nibble down: masking nibble k in place leaves {@code u·16^k} in every
     * lane, which converts exactly to float; the factor {@code 16^-k} is folded into a prescaled copy of the input
     * ({@link #prescale}), made once per input and reused for every row. Nibble 7 would land on the sign bit, so it
     * is first shifted down by 4 and uses factor {@code 16^-6}.
     */
    static final int[] NIBBLE_MASK = {0xF, 0xF0, 0xF00, 0xF000, 0xF_0000, 0xF0_0000, 0xF00_0000, 0xF00_0000};
    private static final float[] NIBBLE_FACTOR = {1f, 0x1p-4f, 0x1p-8f, 0x1p-12f, 0x1p-16f, 0x1p-20f, 0x1p-24f, 0x1p-24f};

    /** Floats {@link #prescale} writes for a row of {@code cols} values. */
    static int prescaledFloats(int cols) {
        return cols;
    }

    /** {@code sums[so + b] = Σ x[xo + k]} over each block b of {@code block} values of a row (the last may be short). */
    static void blockSums(float[] x, int xo, int cols, int block, float[] sums, int so) {
        for (int b = 0; b * block < cols; b++) {
            float s = 0;
            for (int k = b * block; k < Math.min(cols, (b + 1) * block); k++) s += x[xo + k];
            sums[so + b] = s;
        }
    }

    /** {@code xp[e] = x[e]·16^-k(e)} with k(e) = the nibble of value e in its unit (see {@link #NIBBLE_FACTOR}). */
    static void prescale(float[] x, int xo, int cols, float[] xp, int po) {
        for (int e = 0; e < cols; e++) xp[po + e] = x[xo + e] * NIBBLE_FACTOR[(e % Q4Layout.UNIT) / 8];
    }

    /** {@code Σ u·x} over the first {@code units} full units of a 4-bit row, with {@code xp} from {@link #prescale}. */
    static float q4Dot(MemorySegment q, long rowBase, int units, float[] xp, int po) {
        // four accumulators: one FMA chain would be latency-bound (4 cycles per FMA, 8 FMAs per unit)
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int u = 0; u < units; u++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            IntVector w7 = w.lanewise(VectorOperators.LSHR, 4);
            int xb = po + u * Q4Layout.UNIT;
            s0 = ((FloatVector) w.and(0xF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb), s0);
            s1 = ((FloatVector) w.and(0xF0).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 8), s1);
            s2 = ((FloatVector) w.and(0xF00).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 16), s2);
            s3 = ((FloatVector) w.and(0xF000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 24), s3);
            s0 = ((FloatVector) w.and(0xF_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 32), s0);
            s1 = ((FloatVector) w.and(0xF0_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 40), s1);
            s2 = ((FloatVector) w.and(0xF00_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 48), s2);
            s3 = ((FloatVector) w7.and(0xF00_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 56), s3);
        }
        return Lanes.sum(s0.add(s1).add(s2.add(s3)));
    }

    /**
     * {@link #q4Dot} for four inputs at once (prescaled copies at {@code p0 … p3}): each nibble is unpacked once
     * and used four times, which is what makes decoding several sequences together cheaper per token.
     */
    static void q4Dot4(MemorySegment q, long rowBase, int units, float[] xp, int p0, int p1, int p2, int p3,
                       float[] out) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        for (int u = 0; u < units; u++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            int o = u * Q4Layout.UNIT;
            FloatVector v = (FloatVector) w.and(0xF).convert(VectorOperators.I2F, 0);
            a0 = v.fma(FloatVector.fromArray(F, xp, p0 + o), a0);
            b0 = v.fma(FloatVector.fromArray(F, xp, p1 + o), b0);
            c0 = v.fma(FloatVector.fromArray(F, xp, p2 + o), c0);
            d0 = v.fma(FloatVector.fromArray(F, xp, p3 + o), d0);
            v = (FloatVector) w.and(0xF0).convert(VectorOperators.I2F, 0);
            a1 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 8), a1);
            b1 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 8), b1);
            c1 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 8), c1);
            d1 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 8), d1);
            v = (FloatVector) w.and(0xF00).convert(VectorOperators.I2F, 0);
            a0 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 16), a0);
            b0 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 16), b0);
            c0 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 16), c0);
            d0 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 16), d0);
            v = (FloatVector) w.and(0xF000).convert(VectorOperators.I2F, 0);
            a1 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 24), a1);
            b1 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 24), b1);
            c1 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 24), c1);
            d1 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 24), d1);
            v = (FloatVector) w.and(0xF_0000).convert(VectorOperators.I2F, 0);
            a0 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 32), a0);
            b0 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 32), b0);
            c0 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 32), c0);
            d0 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 32), d0);
            v = (FloatVector) w.and(0xF0_0000).convert(VectorOperators.I2F, 0);
            a1 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 40), a1);
            b1 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 40), b1);
            c1 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 40), c1);
            d1 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 40), d1);
            v = (FloatVector) w.and(0xF00_0000).convert(VectorOperators.I2F, 0);
            a0 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 48), a0);
            b0 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 48), b0);
            c0 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 48), c0);
            d0 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 48), d0);
            v = (FloatVector) w.lanewise(VectorOperators.LSHR, 4).and(0xF00_0000).convert(VectorOperators.I2F, 0);
            a1 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 56), a1);
            b1 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 56), b1);
            c1 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 56), c1);
            d1 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 56), d1);
        }
        out[0] = Lanes.sum(a0.add(a1));
        out[1] = Lanes.sum(b0.add(b1));
        out[2] = Lanes.sum(c0.add(c1));
        out[3] = Lanes.sum(d0.add(d1));
    }

    /**
     * Two rows × four inputs (batched decode): {@code out[oo + 4·i + j]} = row i (at {@code rowBase0}, {@code
     * rowBase1}) dotted with input j ({@code xp[p_j…]}, from {@link #prescale}) over full units, as {@link #q4Dot}.
     * Each input vector is loaded once for both rows, one load feeding two FMAs: the one-row kernels ({@link
     * #q4Dot4}) load 32 bytes of input per FMA, and with eight inputs those stream from L2 at about one FMA per
     * cycle. Sixteen weight vectors and eight accumulators: for the 32 registers of AVX-512 (on AVX2 it spills).
     * The weights are converted before the loop over inputs, written out in full and with no branch in the loop:
     * C2 boxes vector values that meet at a branch.
     */
    static void q4Dot2x4(MemorySegment q, long rowBase0, long rowBase1, int units,
                         float[] xp, int p0, int p1, int p2, int p3, float[] out, int oo) {
        FloatVector a0 = FloatVector.zero(F), c0 = a0, a1 = a0, c1 = a0, a2 = a0, c2 = a0, a3 = a0, c3 = a0;
        for (int u = 0; u < units; u++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase0 + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            FloatVector v0 = (FloatVector) w.and(0xF).convert(VectorOperators.I2F, 0);
            FloatVector v1 = (FloatVector) w.and(0xF0).convert(VectorOperators.I2F, 0);
            FloatVector v2 = (FloatVector) w.and(0xF00).convert(VectorOperators.I2F, 0);
            FloatVector v3 = (FloatVector) w.and(0xF000).convert(VectorOperators.I2F, 0);
            FloatVector v4 = (FloatVector) w.and(0xF_0000).convert(VectorOperators.I2F, 0);
            FloatVector v5 = (FloatVector) w.and(0xF0_0000).convert(VectorOperators.I2F, 0);
            FloatVector v6 = (FloatVector) w.and(0xF00_0000).convert(VectorOperators.I2F, 0);
            FloatVector v7 = (FloatVector) w.lanewise(VectorOperators.LSHR, 4).and(0xF00_0000).convert(VectorOperators.I2F, 0);
            w = IntVector.fromMemorySegment(I, q, rowBase1 + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            FloatVector t0 = (FloatVector) w.and(0xF).convert(VectorOperators.I2F, 0);
            FloatVector t1 = (FloatVector) w.and(0xF0).convert(VectorOperators.I2F, 0);
            FloatVector t2 = (FloatVector) w.and(0xF00).convert(VectorOperators.I2F, 0);
            FloatVector t3 = (FloatVector) w.and(0xF000).convert(VectorOperators.I2F, 0);
            FloatVector t4 = (FloatVector) w.and(0xF_0000).convert(VectorOperators.I2F, 0);
            FloatVector t5 = (FloatVector) w.and(0xF0_0000).convert(VectorOperators.I2F, 0);
            FloatVector t6 = (FloatVector) w.and(0xF00_0000).convert(VectorOperators.I2F, 0);
            FloatVector t7 = (FloatVector) w.lanewise(VectorOperators.LSHR, 4).and(0xF00_0000).convert(VectorOperators.I2F, 0);
            int o = u * Q4Layout.UNIT;
            a0 = dot8(v0, v1, v2, v3, v4, v5, v6, v7, xp, p0 + o, a0);
            c0 = dot8(t0, t1, t2, t3, t4, t5, t6, t7, xp, p0 + o, c0);
            a1 = dot8(v0, v1, v2, v3, v4, v5, v6, v7, xp, p1 + o, a1);
            c1 = dot8(t0, t1, t2, t3, t4, t5, t6, t7, xp, p1 + o, c1);
            a2 = dot8(v0, v1, v2, v3, v4, v5, v6, v7, xp, p2 + o, a2);
            c2 = dot8(t0, t1, t2, t3, t4, t5, t6, t7, xp, p2 + o, c2);
            a3 = dot8(v0, v1, v2, v3, v4, v5, v6, v7, xp, p3 + o, a3);
            c3 = dot8(t0, t1, t2, t3, t4, t5, t6, t7, xp, p3 + o, c3);
        }
        out[oo] = Lanes.sum(a0);
        out[oo + 1] = Lanes.sum(a1);
        out[oo + 2] = Lanes.sum(a2);
        out[oo + 3] = Lanes.sum(a3);
        out[oo + 4] = Lanes.sum(c0);
        out[oo + 5] = Lanes.sum(c1);
        out[oo + 6] = Lanes.sum(c2);
        out[oo + 7] = Lanes.sum(c3);
    }

    /**
     * {@code acc + Σ_j w_j·x[p + 8j …]} over one 64-value unit, FMAs in order j = 0…7: the two-row kernels call it
     * for both rows with the same input, whose loads the JIT shares (nothing is stored in between).
     */
    private static FloatVector dot8(FloatVector w0, FloatVector w1, FloatVector w2, FloatVector w3, FloatVector w4,
                                    FloatVector w5, FloatVector w6, FloatVector w7, float[] xp, int p, FloatVector acc) {
        acc = w0.fma(FloatVector.fromArray(F, xp, p), acc);
        acc = w1.fma(FloatVector.fromArray(F, xp, p + 8), acc);
        acc = w2.fma(FloatVector.fromArray(F, xp, p + 16), acc);
        acc = w3.fma(FloatVector.fromArray(F, xp, p + 24), acc);
        acc = w4.fma(FloatVector.fromArray(F, xp, p + 32), acc);
        acc = w5.fma(FloatVector.fromArray(F, xp, p + 40), acc);
        acc = w6.fma(FloatVector.fromArray(F, xp, p + 48), acc);
        return w7.fma(FloatVector.fromArray(F, xp, p + 56), acc);
    }

    /**
     * {@link #q4Dot2x4} for grouped weights, zero point included: {@code Σ_b d_b·Σ_{e∈b} (u − 8)·x}. The zero point
     * is subtracted from each nibble in place, in integers ({@code (u − 8)·16^k} converts exactly), once per row
     * for all four inputs; the weight vectors of unit u are then scaled by their rows' fp16 block scales {@code 2u}
     * (values 0–31) and {@code 2u + 1} (32–63) at {@code scaleBase0}, {@code scaleBase1}.
     */
    static void q4Dot2x4Grouped(MemorySegment q, long rowBase0, long rowBase1, int units, MemorySegment scales,
                                long scaleBase0, long scaleBase1, float[] xp, int p0, int p1, int p2, int p3, float[] out, int oo) {
        FloatVector a0 = FloatVector.zero(F), c0 = a0, a1 = a0, c1 = a0, a2 = a0, c2 = a0, a3 = a0, c3 = a0;
        for (int u = 0; u < units; u++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase0 + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            FloatVector v0 = (FloatVector) w.and(0xF).sub(8).convert(VectorOperators.I2F, 0);
            FloatVector v1 = (FloatVector) w.and(0xF0).sub(0x80).convert(VectorOperators.I2F, 0);
            FloatVector v2 = (FloatVector) w.and(0xF00).sub(0x800).convert(VectorOperators.I2F, 0);
            FloatVector v3 = (FloatVector) w.and(0xF000).sub(0x8000).convert(VectorOperators.I2F, 0);
            FloatVector v4 = (FloatVector) w.and(0xF_0000).sub(0x8_0000).convert(VectorOperators.I2F, 0);
            FloatVector v5 = (FloatVector) w.and(0xF0_0000).sub(0x80_0000).convert(VectorOperators.I2F, 0);
            FloatVector v6 = (FloatVector) w.and(0xF00_0000).sub(0x800_0000).convert(VectorOperators.I2F, 0);
            FloatVector v7 = (FloatVector) w.lanewise(VectorOperators.LSHR, 4).and(0xF00_0000).sub(0x800_0000).convert(VectorOperators.I2F, 0);
            w = IntVector.fromMemorySegment(I, q, rowBase1 + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            FloatVector t0 = (FloatVector) w.and(0xF).sub(8).convert(VectorOperators.I2F, 0);
            FloatVector t1 = (FloatVector) w.and(0xF0).sub(0x80).convert(VectorOperators.I2F, 0);
            FloatVector t2 = (FloatVector) w.and(0xF00).sub(0x800).convert(VectorOperators.I2F, 0);
            FloatVector t3 = (FloatVector) w.and(0xF000).sub(0x8000).convert(VectorOperators.I2F, 0);
            FloatVector t4 = (FloatVector) w.and(0xF_0000).sub(0x8_0000).convert(VectorOperators.I2F, 0);
            FloatVector t5 = (FloatVector) w.and(0xF0_0000).sub(0x80_0000).convert(VectorOperators.I2F, 0);
            FloatVector t6 = (FloatVector) w.and(0xF00_0000).sub(0x800_0000).convert(VectorOperators.I2F, 0);
            FloatVector t7 = (FloatVector) w.lanewise(VectorOperators.LSHR, 4).and(0xF00_0000).sub(0x800_0000).convert(VectorOperators.I2F, 0);
            FloatVector d0 = FloatVector.broadcast(F, Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase0 + 4L * u)));
            FloatVector d1 = FloatVector.broadcast(F, Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase0 + 4L * u + 2)));
            v0 = v0.mul(d0); v1 = v1.mul(d0); v2 = v2.mul(d0); v3 = v3.mul(d0);
            v4 = v4.mul(d1); v5 = v5.mul(d1); v6 = v6.mul(d1); v7 = v7.mul(d1);
            d0 = FloatVector.broadcast(F, Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase1 + 4L * u)));
            d1 = FloatVector.broadcast(F, Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase1 + 4L * u + 2)));
            t0 = t0.mul(d0); t1 = t1.mul(d0); t2 = t2.mul(d0); t3 = t3.mul(d0);
            t4 = t4.mul(d1); t5 = t5.mul(d1); t6 = t6.mul(d1); t7 = t7.mul(d1);
            int o = u * Q4Layout.UNIT;
            a0 = dot8(v0, v1, v2, v3, v4, v5, v6, v7, xp, p0 + o, a0);
            c0 = dot8(t0, t1, t2, t3, t4, t5, t6, t7, xp, p0 + o, c0);
            a1 = dot8(v0, v1, v2, v3, v4, v5, v6, v7, xp, p1 + o, a1);
            c1 = dot8(t0, t1, t2, t3, t4, t5, t6, t7, xp, p1 + o, c1);
            a2 = dot8(v0, v1, v2, v3, v4, v5, v6, v7, xp, p2 + o, a2);
            c2 = dot8(t0, t1, t2, t3, t4, t5, t6, t7, xp, p2 + o, c2);
            a3 = dot8(v0, v1, v2, v3, v4, v5, v6, v7, xp, p3 + o, a3);
            c3 = dot8(t0, t1, t2, t3, t4, t5, t6, t7, xp, p3 + o, c3);
        }
        out[oo] = Lanes.sum(a0);
        out[oo + 1] = Lanes.sum(a1);
        out[oo + 2] = Lanes.sum(a2);
        out[oo + 3] = Lanes.sum(a3);
        out[oo + 4] = Lanes.sum(c0);
        out[oo + 5] = Lanes.sum(c1);
        out[oo + 6] = Lanes.sum(c2);
        out[oo + 7] = Lanes.sum(c3);
    }

    /**
     * {@code Σ_b d_b·Σ_{e∈b} u·x} over full units with an fp16 scale per 32-value block at {@code scaleBase}, minus
     * the zero point {@code 8·Σ_b d_b·Σ_{e∈b} x} from the block sums {@code sums[so + b]}.
     */
    static float q4DotGrouped(MemorySegment q, long rowBase, MemorySegment scales, long scaleBase, int units,
                              float[] xp, int po, float[] sums, int so) {
        // short independent chains: each block's sum is two pairs, each block scales into its own accumulator
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        for (int u = 0; u < units; u++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            IntVector w7 = w.lanewise(VectorOperators.LSHR, 4);
            int xb = po + u * Q4Layout.UNIT;
            FloatVector a = ((FloatVector) w.and(0xF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xp, xb));
            FloatVector a2 = ((FloatVector) w.and(0xF00).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xp, xb + 16));
            FloatVector b = ((FloatVector) w.and(0xF_0000).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xp, xb + 32));
            FloatVector b2 = ((FloatVector) w.and(0xF00_0000).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xp, xb + 48));
            a = ((FloatVector) w.and(0xF0).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 8), a);
            a2 = ((FloatVector) w.and(0xF000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 24), a2);
            b = ((FloatVector) w.and(0xF0_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 40), b);
            b2 = ((FloatVector) w7.and(0xF00_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 56), b2);
            float d0 = Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 4L * u));
            float d1 = Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 4L * u + 2));
            acc0 = a.add(a2).fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = b.add(b2).fma(FloatVector.broadcast(F, d1), acc1);
        }
        return Lanes.sum(acc0.add(acc1)) - 8 * halfDot(scales, scaleBase, sums, so, 2 * units);
    }

    /** {@code Σ_i fp16(scales[i])·v[i]} for {@code n} fp16 values at {@code base} (the grouped zero point). */
    static float halfDot(MemorySegment scales, long base, float[] v, int vo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (; i + 8 <= n; i += 8) {
            IntVector h = (IntVector) jdk.incubator.vector.ShortVector.fromMemorySegment(jdk.incubator.vector.ShortVector.SPECIES_128, scales, base + 2L * i, F16.LE)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector magnitude = h.and(0x7FFF);
            IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
            FloatVector value = shifted.reinterpretAsFloats().mul(0x1p112f);
            IntVector bits = value.reinterpretAsInts().blend(shifted.or(0x7F800000), magnitude.compare(VectorOperators.GE, 0x7C00));
            acc = bits.or(h.and(0x80000000)).reinterpretAsFloats().fma(FloatVector.fromArray(F, v, vo + i), acc);
        }
        float s = Lanes.sum(acc);
        for (; i < n; i++) s += Float.float16ToFloat(scales.get(Q8Matrix.HALF, base + 2L * i)) * v[vo + i];
        return s;
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
                IntVector w7 = w.lanewise(VectorOperators.LSHR, 4);
                float sa = scale(rowScale, scales, scaleBase, k), sb = scale(rowScale, scales, scaleBase, k + 32);
                FloatVector za = FloatVector.broadcast(F, -8 * sa), zb = FloatVector.broadcast(F, -8 * sb);
                int o = d + (k - k0);
                // value = (u·16^j)·(s·16^-j) − 8s
                ((FloatVector) w.and(0xF).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, sa), za).intoArray(dst, o);
                ((FloatVector) w.and(0xF0).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, sa * 0x1p-4f), za).intoArray(dst, o + 8);
                ((FloatVector) w.and(0xF00).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, sa * 0x1p-8f), za).intoArray(dst, o + 16);
                ((FloatVector) w.and(0xF000).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, sa * 0x1p-12f), za).intoArray(dst, o + 24);
                ((FloatVector) w.and(0xF_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, sb * 0x1p-16f), zb).intoArray(dst, o + 32);
                ((FloatVector) w.and(0xF0_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, sb * 0x1p-20f), zb).intoArray(dst, o + 40);
                ((FloatVector) w.and(0xF00_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, sb * 0x1p-24f), zb).intoArray(dst, o + 48);
                ((FloatVector) w7.and(0xF00_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, sb * 0x1p-24f), zb).intoArray(dst, o + 56);
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

    /** Factor of byte k of an {@link Int8Layout} lane: byte 3 is shifted down by 8 first (the sign bit). */
    private static final float[] BYTE_FACTOR = {1f, 0x1p-8f, 0x1p-16f, 0x1p-16f};

    /** {@code xp[e] = x[e]·256^-k(e)} with k(e) the byte of value e in its {@link Int8Layout} lane. */
    static void prescale8(float[] x, int xo, int cols, float[] xp, int po) {
        for (int e = 0; e < cols; e++) xp[po + e] = x[xo + e] * BYTE_FACTOR[(e % Int8Layout.UNIT) / 8];
    }

    /** {@code Σ u·x} over the first {@code units} full units of an {@link Int8Layout} row, {@code xp} from {@link #prescale8}. */
    static float i8Dot(MemorySegment q, long rowBase, int units, float[] xp, int po) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        for (int u = 0; u < units; u++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) u * Int8Layout.UNIT_BYTES, F16.LE);
            int xb = po + u * Int8Layout.UNIT;
            s0 = ((FloatVector) w.and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb), s0);
            s1 = ((FloatVector) w.and(0xFF00).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 8), s1);
            s2 = ((FloatVector) w.and(0xFF_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 16), s2);
            s3 = ((FloatVector) w.lanewise(VectorOperators.LSHR, 8).and(0xFF_0000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xp, xb + 24), s3);
        }
        return Lanes.sum(s0.add(s1).add(s2.add(s3)));
    }

    /** {@link #i8Dot} for four inputs at once (prescaled copies at {@code p0 … p3}), each byte unpacked once. */
    static void i8Dot4(MemorySegment q, long rowBase, int units, float[] xp, int p0, int p1, int p2, int p3,
                       float[] out) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        for (int u = 0; u < units; u++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) u * Int8Layout.UNIT_BYTES, F16.LE);
            int o = u * Int8Layout.UNIT;
            FloatVector v = (FloatVector) w.and(0xFF).convert(VectorOperators.I2F, 0);
            a0 = v.fma(FloatVector.fromArray(F, xp, p0 + o), a0);
            b0 = v.fma(FloatVector.fromArray(F, xp, p1 + o), b0);
            c0 = v.fma(FloatVector.fromArray(F, xp, p2 + o), c0);
            d0 = v.fma(FloatVector.fromArray(F, xp, p3 + o), d0);
            v = (FloatVector) w.and(0xFF00).convert(VectorOperators.I2F, 0);
            a1 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 8), a1);
            b1 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 8), b1);
            c1 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 8), c1);
            d1 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 8), d1);
            v = (FloatVector) w.and(0xFF_0000).convert(VectorOperators.I2F, 0);
            a0 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 16), a0);
            b0 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 16), b0);
            c0 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 16), c0);
            d0 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 16), d0);
            v = (FloatVector) w.lanewise(VectorOperators.LSHR, 8).and(0xFF_0000).convert(VectorOperators.I2F, 0);
            a1 = v.fma(FloatVector.fromArray(F, xp, p0 + o + 24), a1);
            b1 = v.fma(FloatVector.fromArray(F, xp, p1 + o + 24), b1);
            c1 = v.fma(FloatVector.fromArray(F, xp, p2 + o + 24), c1);
            d1 = v.fma(FloatVector.fromArray(F, xp, p3 + o + 24), d1);
        }
        out[0] = Lanes.sum(a0.add(a1));
        out[1] = Lanes.sum(b0.add(b1));
        out[2] = Lanes.sum(c0.add(c1));
        out[3] = Lanes.sum(d0.add(d1));
    }

    /**
     * Dequantizes values {@code [k0, k0 + kl)} of an {@link Int8Layout} row into {@code dst[d…]}:
     * {@code w = scale·(u − 128)}, the scale as in {@link #q4Decode}. Vector path for whole units, scalar otherwise.
     */
    static void i8Decode(MemorySegment q, long rowBase, int k0, int kl, float[] dst, int d,
                         float rowScale, MemorySegment scales, long scaleBase) {
        int k = k0, end = k0 + kl;
        while (k < end) {
            if (k % Int8Layout.UNIT == 0 && k + Int8Layout.UNIT <= end) {
                float scale = scale(rowScale, scales, scaleBase, k);   // a unit is one 32-block
                FloatVector zero = FloatVector.broadcast(F, -128 * scale);
                IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) (k / Int8Layout.UNIT) * Int8Layout.UNIT_BYTES, F16.LE);
                int o = d + (k - k0);
                // value = (u·256^j)·(s·256^-j) − 128s
                ((FloatVector) w.and(0xFF).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale), zero).intoArray(dst, o);
                ((FloatVector) w.and(0xFF00).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale * 0x1p-8f), zero).intoArray(dst, o + 8);
                ((FloatVector) w.and(0xFF_0000).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale * 0x1p-16f), zero).intoArray(dst, o + 16);
                ((FloatVector) w.lanewise(VectorOperators.LSHR, 8).and(0xFF_0000).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.broadcast(F, scale * 0x1p-16f), zero).intoArray(dst, o + 24);
                k += Int8Layout.UNIT;
            } else {
                dst[d + (k - k0)] = scale(rowScale, scales, scaleBase, k) * Int8Layout.get(q, rowBase, k);
                k++;
            }
        }
    }

    /**
     * {@code Σ_b d_b·Σ_{e∈b} (u − 128)·x} over {@code blocks} full 32-blocks of an {@link Int8Layout} row with fp16
     * scales at {@code scaleBase}; {@code xp} from {@link #prescale8}, block sums of x at {@code sums[so…]}.
     */
    static float i8DotGrouped(MemorySegment q, long rowBase, MemorySegment scales, long scaleBase, int blocks,
                              float[] xp, int po, float[] sums, int so) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        for (int b = 0; b < blocks; b++) {
            IntVector w = IntVector.fromMemorySegment(I, q, rowBase + (long) b * Int8Layout.UNIT_BYTES, F16.LE);
            int xb = po + b * Int8Layout.UNIT;
            FloatVector p = ((FloatVector) w.and(0xFF).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xp, xb));
            FloatVector r = ((FloatVector) w.and(0xFF_0000).convert(VectorOperators.I2F, 0)).mul(FloatVector.fromArray(F, xp, xb + 16));
            p = ((FloatVector) w.and(0xFF00).convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(F, xp, xb + 8), p);
            r = ((FloatVector) w.lanewise(VectorOperators.LSHR, 8).and(0xFF_0000).convert(VectorOperators.I2F, 0))
                    .fma(FloatVector.fromArray(F, xp, xb + 24), r);
            FloatVector d = FloatVector.broadcast(F, Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 2L * b)));
            if ((b & 1) == 0) acc0 = p.add(r).fma(d, acc0);
            else acc1 = p.add(r).fma(d, acc1);
        }
        return Lanes.sum(acc0.add(acc1)) - 128 * halfDot(scales, scaleBase, sums, so, blocks);
    }
}
