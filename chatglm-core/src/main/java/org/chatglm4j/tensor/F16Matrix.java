package org.chatglm4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;


import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.chatglm4j.tensor.F16.F;

/** IEEE half-precision weights, as the original checkpoint stores them (memory-mapped, converted on the fly). */
public final class F16Matrix implements WeightMatrix {
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(F16.LE);

    private final MemorySegment data;
    private final int rows;
    private final int cols;

    /**
     * Wraps {@code data}, {@code rows·cols} little-endian IEEE half values row-major, without copying: the caller
     * (usually a {@link org.chatglm4j.io.Checkpoint} mapping) owns the memory and must keep it alive.
     */
    public F16Matrix(MemorySegment data, int rows, int cols) {
        if (data.byteSize() != (long) rows * cols * 2) {
            throw new IllegalArgumentException("f16 matrix " + rows + "x" + cols + " needs " + (long) rows * cols * 2
                    + " bytes, got " + data.byteSize());
        }
        this.data = data;
        this.rows = rows;
        this.cols = cols;
    }

    /** The raw little-endian values, row-major. */
    public MemorySegment data() { return data; }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public String format() { return "f16"; }
    @Override public long byteSize() { return data.byteSize(); }

    private float at(long rowBase, int c) {
        return Float.float16ToFloat(data.get(HALF, rowBase + 2L * c));
    }

    @Override
    public void readRow(int r, float[] out, int off) {
        decodeTile(r, 1, 0, cols, out, off);
    }

    @Override
    public void decodeTile(int r0, int nr, int k0, int kl, float[] dst) {
        decodeTile(r0, nr, k0, kl, dst, 0);
    }

    private void decodeTile(int r0, int nr, int k0, int kl, float[] dst, int dstOff) {
        int upper = F.loopBound(kl);
        for (int i = 0; i < nr; i++) {
            long base = ((long) (r0 + i) * cols + k0) * 2;
            int d = dstOff + i * kl;
            int k = 0;
            for (; k < upper; k += F.length()) F16.loadHalves(data, base + 2L * k).intoArray(dst, d + k);
            for (; k < kl; k++) dst[d + k] = at(base, k);
        }
    }

    @Override
    public void dotRows(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc) {
        long base = (long) r * cols * 2;
        int upper = F.loopBound(cols);
        if (nx == 1) {
            int xb = x0 * cols;
            // four accumulators: a single FMA chain would be latency-bound
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            int k = 0, step = F.length();
            for (; k + 3 * step < upper; k += 4 * step) {
                IntVector i0 = (IntVector) ShortVector.fromMemorySegment(F16.S, data, base + 2L * k, F16.LE).convertShape(VectorOperators.S2I, F16.I, 0);
                IntVector m0 = i0.and(0x7FFF), h0 = m0.lanewise(VectorOperators.LSHL, 13);
                FloatVector w0 = h0.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .blend(h0.or(0x7F800000), m0.compare(VectorOperators.GE, 0x7C00)).or(i0.and(0x80000000)).reinterpretAsFloats();
                IntVector i1 = (IntVector) ShortVector.fromMemorySegment(F16.S, data, base + 2L * (k + step), F16.LE).convertShape(VectorOperators.S2I, F16.I, 0);
                IntVector m1 = i1.and(0x7FFF), h1 = m1.lanewise(VectorOperators.LSHL, 13);
                FloatVector w1 = h1.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .blend(h1.or(0x7F800000), m1.compare(VectorOperators.GE, 0x7C00)).or(i1.and(0x80000000)).reinterpretAsFloats();
                IntVector i2 = (IntVector) ShortVector.fromMemorySegment(F16.S, data, base + 2L * (k + 2 * step), F16.LE).convertShape(VectorOperators.S2I, F16.I, 0);
                IntVector m2 = i2.and(0x7FFF), h2 = m2.lanewise(VectorOperators.LSHL, 13);
                FloatVector w2 = h2.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .blend(h2.or(0x7F800000), m2.compare(VectorOperators.GE, 0x7C00)).or(i2.and(0x80000000)).reinterpretAsFloats();
                IntVector i3 = (IntVector) ShortVector.fromMemorySegment(F16.S, data, base + 2L * (k + 3 * step), F16.LE).convertShape(VectorOperators.S2I, F16.I, 0);
                IntVector m3 = i3.and(0x7FFF), h3 = m3.lanewise(VectorOperators.LSHL, 13);
                FloatVector w3 = h3.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                        .blend(h3.or(0x7F800000), m3.compare(VectorOperators.GE, 0x7C00)).or(i3.and(0x80000000)).reinterpretAsFloats();
                s0 = w0.fma(FloatVector.fromArray(F, x, xb + k), s0);
                s1 = w1.fma(FloatVector.fromArray(F, x, xb + k + step), s1);
                s2 = w2.fma(FloatVector.fromArray(F, x, xb + k + 2 * step), s2);
                s3 = w3.fma(FloatVector.fromArray(F, x, xb + k + 3 * step), s3);
            }
            for (; k < upper; k += step) {
                s0 = F16.loadHalves(data, base + 2L * k).fma(FloatVector.fromArray(F, x, xb + k), s0);
            }
            float s = Lanes.sum(s0.add(s1).add(s2.add(s3)));
            for (; k < cols; k++) s += at(base, k) * x[xb + k];
            acc[0] = s;
            return;
        }
        // up to four inputs share each weight load; missing inputs repeat the last one and are not stored
        int xa = x0 * cols, xb = (x0 + Math.min(1, nx - 1)) * cols;
        int xc = (x0 + Math.min(2, nx - 1)) * cols, xd = (x0 + Math.min(3, nx - 1)) * cols;
        FloatVector sa = FloatVector.zero(F), sb = sa, sc = sa, sd = sa;
        int k = 0;
        for (; k < upper; k += F.length()) {
            FloatVector w = F16.loadHalves(data, base + 2L * k);
            sa = w.fma(FloatVector.fromArray(F, x, xa + k), sa);
            sb = w.fma(FloatVector.fromArray(F, x, xb + k), sb);
            sc = w.fma(FloatVector.fromArray(F, x, xc + k), sc);
            sd = w.fma(FloatVector.fromArray(F, x, xd + k), sd);
        }
        float a = Lanes.sum(sa);
        float b = Lanes.sum(sb);
        float c = Lanes.sum(sc);
        float d = Lanes.sum(sd);
        for (; k < cols; k++) {
            float w = at(base, k);
            a += w * x[xa + k];
            b += w * x[xb + k];
            c += w * x[xc + k];
            d += w * x[xd + k];
        }
        acc[0] = a;
        if (nx > 1) acc[1] = b;
        if (nx > 2) acc[2] = c;
        if (nx > 3) acc[3] = d;
    }

    @Override
    public void dotRowsScalar(int r, float[] x, int x0, int nx, float[] acc) {
        long base = (long) r * cols * 2;
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols;
            float s = 0;
            for (int k = 0; k < cols; k++) s += at(base, k) * x[xo + k];
            acc[j] = s;
        }
    }
}
