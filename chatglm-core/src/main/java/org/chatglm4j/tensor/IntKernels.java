package org.chatglm4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;


/**
 * Integer-activation kernels of the grouped formats ({@link Q4Matrix}, {@link Q8Matrix}): the input is quantized
 * once per matrix to int8 per block of 32 values with a float scale (ggml's q8_0 activations,
 * {@link #quantizeBlocks}), and each weight block is dotted with it in 16-bit integer arithmetic, one float
 * multiply-add per block pair. The Vector API has no widening byte multiply-add ({@code vpmaddubsw}), so products
 * are 16-bit multiplies ({@code vpmullw}) and two 16-bit halves of a 32-bit lane are widened with shifts.
 *
 * <p>Weights are read as shorts straight from their lane layouts, and the quantized input is stored, once per
 * matrix, permuted to match them ({@link #prepare} (unit 64), {@link #prepare} (unit 32)) as shorts, two to a float slot of the
 * prepared-input array ({@link Float#intBitsToFloat} and a {@link FloatVector#reinterpretAsShorts} keep the bits).
 */
final class IntKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    static final VectorSpecies<Short> S = ShortVector.SPECIES_256;
    static final int BLOCK = 32;

    private IntKernels() {
    }

    /**
     * Quantizes {@code x[xo, xo + cols)} per block of 32 (the last may be short): {@code xq[e] = round(x[e]·127 /
     * m_b)}, {@code m_b = max|x|} over the block, scale {@code d_b = m_b / 127} (0 for an all-zero block), into
     * {@code xq[0, cols)} and {@code d[0, blocks)}. The definition the scalar twins use; {@link #prepare} computes
     * the same values without the arrays.
     */
    static void quantizeBlocks(float[] x, int xo, int cols, int[] xq, float[] d) {
        for (int b = 0; b * BLOCK < cols; b++) {
            int k0 = b * BLOCK, k1 = Math.min(cols, k0 + BLOCK);
            float amax = 0;
            for (int k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(x[xo + k]));
            float inv = amax == 0 ? 0 : 127 / amax;
            d[b] = amax / 127;
            for (int k = k0; k < k1; k++) xq[k] = Math.round(x[xo + k] * inv);
        }
    }

    /** Floats {@link #prepare} writes for a row of {@code cols} values and weight units of {@code unit} values. */
    static int preparedFloats(int cols, int unit) {
        int main = cols / unit * unit, blocks = (cols + BLOCK - 1) / BLOCK;
        return main / 2 + (cols - main) + 2 * blocks;
    }

    /**
     * Quantizes an input as {@link #quantizeBlocks} does into {@code aux[o…]} ({@link #preparedFloats} floats),
     * laid out for the kernels: the values of the whole weight units of {@code unit} values (64 for
     * {@link Q4Layout}, 32 for {@link Int8Layout}) as shorts, two per float slot, permuted to match the weights
     * (below); the tail's values as floats; the scales {@code d_b}; then {@code d_b·Σ_{e∈b} xq_e} (the zero-point
     * term of 4-bit weights). Allocates nothing.
     *
     * <p>Permutation: unit u's {@code unit/2} slots hold {@code unit/16} vectors of 16 shorts; vector n, lane j holds
     * value {@code unit·u + 8·(unit/16·(j%2) + n) + j/2}, the one whose weight sits in field n (nibble or byte) of
     * short j of the unit, since value e of a unit sits in 32-bit lane {@code e % 8}, field {@code e / 8}.
     */
    static void prepare(float[] x, int xo, int cols, int unit, float[] aux, int o) {
        int main = cols / unit * unit, blocks = (cols + BLOCK - 1) / BLOCK, fields = unit / 16;
        int dOff = o + main / 2 + (cols - main), zOff = dOff + blocks;
        // pass 1: the scales, and 127/max|x| kept for now where the zero-point terms go
        for (int b = 0; b < blocks; b++) {
            int k0 = b * BLOCK, k1 = Math.min(cols, k0 + BLOCK);
            float amax = 0;
            for (int k = k0; k < k1; k++) amax = Math.max(amax, Math.abs(x[xo + k]));
            aux[dOff + b] = amax / 127;
            aux[zOff + b] = amax == 0 ? 0 : 127 / amax;
        }
        // pass 2: the values, packed
        for (int u = 0; u < main / unit; u++) {
            for (int n = 0; n < fields; n++) {
                for (int m = 0; m < 8; m++) {
                    int e0 = unit * u + 8 * n + m, e1 = unit * u + 8 * (fields + n) + m;
                    int q0 = Math.round(x[xo + e0] * aux[zOff + e0 / BLOCK]);
                    int q1 = Math.round(x[xo + e1] * aux[zOff + e1 / BLOCK]);
                    // two shorts in one slot, the first at the lower address as vectors load them
                    aux[o + unit / 2 * u + 8 * n + m] = Float.intBitsToFloat((q0 & 0xFFFF) | (q1 << 16));
                }
            }
        }
        for (int k = main; k < cols; k++) aux[o + main / 2 + (k - main)] = Math.round(x[xo + k] * aux[zOff + k / BLOCK]);
        // pass 3: the zero-point terms replace the inverses
        for (int b = 0; b < blocks; b++) {
            float inv = aux[zOff + b];
            int sum = 0;
            for (int k = b * BLOCK; k < Math.min(cols, (b + 1) * BLOCK); k++) sum += Math.round(x[xo + k] * inv);
            aux[zOff + b] = aux[dOff + b] * sum;
        }
    }

    /** Broadcasts of lane i of an eight-float vector (constants: C2 folds static final shuffles). */
    private static final VectorShuffle<Float> L0 = VectorShuffle.fromValues(F, 0, 0, 0, 0, 0, 0, 0, 0);
    private static final VectorShuffle<Float> L1 = VectorShuffle.fromValues(F, 1, 1, 1, 1, 1, 1, 1, 1);
    private static final VectorShuffle<Float> L2 = VectorShuffle.fromValues(F, 2, 2, 2, 2, 2, 2, 2, 2);
    private static final VectorShuffle<Float> L3 = VectorShuffle.fromValues(F, 3, 3, 3, 3, 3, 3, 3, 3);
    private static final VectorShuffle<Float> L4 = VectorShuffle.fromValues(F, 4, 4, 4, 4, 4, 4, 4, 4);
    private static final VectorShuffle<Float> L5 = VectorShuffle.fromValues(F, 5, 5, 5, 5, 5, 5, 5, 5);
    private static final VectorShuffle<Float> L6 = VectorShuffle.fromValues(F, 6, 6, 6, 6, 6, 6, 6, 6);
    private static final VectorShuffle<Float> L7 = VectorShuffle.fromValues(F, 7, 7, 7, 7, 7, 7, 7, 7);

    /**
     * {@code Σ_b dw_b·dx_b·Σ_{e∈b} u_e·xq_e} over {@code units} full 4-bit units (two blocks each), {@code dw} the
     * fp16 weight scales at {@code scaleBase}, {@code xp[po…]} from {@link #prepare} (unit 64), {@code dx[dxo + b]} the input
     * scales. The zero point ({@code −8·Σ xq}) is the caller's. Four units (eight blocks) per step: their eight
     * combined scales {@code dw·dx} are made in one vector (finite fp16 scales, converted exactly by bit
     * arithmetic) and broadcast lane by lane, instead of eight scalar conversions.
     */
    static float q4Dot(MemorySegment q, long rowBase, MemorySegment scales, long scaleBase, int units,
                       float[] xp, int po, float[] dx, int dxo) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int u = 0;
        for (; u + 4 <= units; u += 4) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, scales, scaleBase + 4L * u, F16.LE)
                    .convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0);
            FloatVector cs = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(h.and(0x80000000)).reinterpretAsFloats()
                    .mul(0x1p112f).mul(FloatVector.fromArray(F, dx, dxo + 2 * u));
            long wb = rowBase + (long) u * Q4Layout.UNIT_BYTES;
            int o = po + 32 * u;
            // unit u: |u·xq| ≤ 15·127, so four products fit a short
            ShortVector w = ShortVector.fromMemorySegment(S, q, wb, F16.LE);
            ShortVector p = w.and((short) 0xF).mul(FloatVector.fromArray(F, xp, o).reinterpretAsShorts());
            p = p.add(w.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 8).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 16).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 12).mul(FloatVector.fromArray(F, xp, o + 24).reinterpretAsShorts()));
            IntVector v = p.reinterpretAsInts();
            // low halves are block 2u, high halves block 2u + 1
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L0), acc0);
            acc1 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L1), acc1);
            // unit u + 1
            w = ShortVector.fromMemorySegment(S, q, wb + Q4Layout.UNIT_BYTES, F16.LE);
            p = w.and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 32).reinterpretAsShorts());
            p = p.add(w.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 40).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 48).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 12).mul(FloatVector.fromArray(F, xp, o + 56).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L2), acc0);
            acc1 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L3), acc1);
            // unit u + 2
            w = ShortVector.fromMemorySegment(S, q, wb + 2 * Q4Layout.UNIT_BYTES, F16.LE);
            p = w.and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 64).reinterpretAsShorts());
            p = p.add(w.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 72).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 80).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 12).mul(FloatVector.fromArray(F, xp, o + 88).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L4), acc0);
            acc1 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L5), acc1);
            // unit u + 3
            w = ShortVector.fromMemorySegment(S, q, wb + 3 * Q4Layout.UNIT_BYTES, F16.LE);
            p = w.and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 96).reinterpretAsShorts());
            p = p.add(w.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 104).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 112).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 12).mul(FloatVector.fromArray(F, xp, o + 120).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L6), acc0);
            acc1 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L7), acc1);
        }
        for (; u < units; u++) {
            ShortVector w = ShortVector.fromMemorySegment(S, q, rowBase + (long) u * Q4Layout.UNIT_BYTES, F16.LE);
            int o = po + 32 * u;
            ShortVector p = w.and((short) 0xF).mul(FloatVector.fromArray(F, xp, o).reinterpretAsShorts());
            p = p.add(w.lanewise(VectorOperators.LSHR, 4).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 8).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 8).and((short) 0xF).mul(FloatVector.fromArray(F, xp, o + 16).reinterpretAsShorts()));
            p = p.add(w.lanewise(VectorOperators.LSHR, 12).mul(FloatVector.fromArray(F, xp, o + 24).reinterpretAsShorts()));
            IntVector v = p.reinterpretAsInts();
            float d0 = Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 4L * u)) * dx[dxo + 2 * u];
            float d1 = Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 4L * u + 2)) * dx[dxo + 2 * u + 1];
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d0), acc0);
            acc1 = ((FloatVector) v.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d1), acc1);
        }
        return Lanes.sum(acc0.add(acc1));
    }

    /**
     * {@code Σ_b dw_b·dx_b·Σ_{e∈b} q_e·xq_e} over {@code blocks} full {@link Int8Layout} units (signed values
     * {@code q = u − 128}: {@code u ^ 0x80} as a signed byte), scales as in {@link #q4Dot}, {@code xp[po…]} from
     * {@link #prepare} (unit 32). Eight blocks per step, their combined scales made in one vector as in {@link #q4Dot}.
     */
    static float q8Dot(MemorySegment q, long rowBase, MemorySegment scales, long scaleBase, int blocks,
                       float[] xp, int po, float[] dx, int dxo) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int b = 0;
        for (; b + 8 <= blocks; b += 8) {
            IntVector h = (IntVector) ShortVector.fromMemorySegment(ShortVector.SPECIES_128, scales, scaleBase + 2L * b, F16.LE)
                    .convertShape(VectorOperators.S2I, IntVector.SPECIES_256, 0);
            FloatVector cs = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13).or(h.and(0x80000000)).reinterpretAsFloats()
                    .mul(0x1p112f).mul(FloatVector.fromArray(F, dx, dxo + b));
            long wb = rowBase + (long) b * Int8Layout.UNIT_BYTES;
            int o = po + 16 * b;
            // the low and high byte of each short times its input, |q·xq| ≤ 128·127: two products fit a short
            ShortVector w, p;
            IntVector v;
            w = ShortVector.fromMemorySegment(S, q, wb + 0L * Int8Layout.UNIT_BYTES, F16.LE).lanewise(VectorOperators.XOR, (short) 0x8080);
            p = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 0).reinterpretAsShorts())
                    .add(w.lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 8).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L0), acc0);
            w = ShortVector.fromMemorySegment(S, q, wb + 1L * Int8Layout.UNIT_BYTES, F16.LE).lanewise(VectorOperators.XOR, (short) 0x8080);
            p = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 16).reinterpretAsShorts())
                    .add(w.lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 24).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L1), acc1);
            w = ShortVector.fromMemorySegment(S, q, wb + 2L * Int8Layout.UNIT_BYTES, F16.LE).lanewise(VectorOperators.XOR, (short) 0x8080);
            p = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 32).reinterpretAsShorts())
                    .add(w.lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 40).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L2), acc0);
            w = ShortVector.fromMemorySegment(S, q, wb + 3L * Int8Layout.UNIT_BYTES, F16.LE).lanewise(VectorOperators.XOR, (short) 0x8080);
            p = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 48).reinterpretAsShorts())
                    .add(w.lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 56).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L3), acc1);
            w = ShortVector.fromMemorySegment(S, q, wb + 4L * Int8Layout.UNIT_BYTES, F16.LE).lanewise(VectorOperators.XOR, (short) 0x8080);
            p = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 64).reinterpretAsShorts())
                    .add(w.lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 72).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L4), acc0);
            w = ShortVector.fromMemorySegment(S, q, wb + 5L * Int8Layout.UNIT_BYTES, F16.LE).lanewise(VectorOperators.XOR, (short) 0x8080);
            p = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 80).reinterpretAsShorts())
                    .add(w.lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 88).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L5), acc1);
            w = ShortVector.fromMemorySegment(S, q, wb + 6L * Int8Layout.UNIT_BYTES, F16.LE).lanewise(VectorOperators.XOR, (short) 0x8080);
            p = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 96).reinterpretAsShorts())
                    .add(w.lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 104).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L6), acc0);
            w = ShortVector.fromMemorySegment(S, q, wb + 7L * Int8Layout.UNIT_BYTES, F16.LE).lanewise(VectorOperators.XOR, (short) 0x8080);
            p = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 112).reinterpretAsShorts())
                    .add(w.lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 120).reinterpretAsShorts()));
            v = p.reinterpretAsInts();
            acc1 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).fma(cs.rearrange(L7), acc1);
        }
        for (; b < blocks; b++) {
            ShortVector w = ShortVector.fromMemorySegment(S, q, rowBase + (long) b * Int8Layout.UNIT_BYTES, F16.LE)
                    .lanewise(VectorOperators.XOR, (short) 0x8080);
            int o = po + 16 * b;
            ShortVector p = w.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o).reinterpretAsShorts())
                    .add(w.lanewise(VectorOperators.ASHR, 8).mul(FloatVector.fromArray(F, xp, o + 8).reinterpretAsShorts()));
            IntVector v = p.reinterpretAsInts();
            float d = Float.float16ToFloat(scales.get(Q8Matrix.HALF, scaleBase + 2L * b)) * dx[dxo + b];
            acc0 = ((FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16).add(v.lanewise(VectorOperators.ASHR, 16))
                    .convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, d), acc0);
        }
        return Lanes.sum(acc0.add(acc1));
    }
}
