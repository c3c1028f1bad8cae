package org.chatglm4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference's INT8 layout ({@code QuantizedLinear} with {@code weight_bit_width=8}): int8 {@code [rows, cols]}
 * and one scale per row, {@code W[r, c] = scale[r]·q[r, c]}. Read in place from a pre-quantized checkpoint.
 */
public final class Int8Matrix implements WeightMatrix {
    private final MemorySegment q;
    private final float[] scales;
    private final int rows;
    private final int cols;

    public Int8Matrix(MemorySegment q, float[] scales, int rows, int cols) {
        if (q.byteSize() != (long) rows * cols) {
            throw new IllegalArgumentException("int8 matrix " + rows + "x" + cols + " needs " + (long) rows * cols
                    + " bytes, got " + q.byteSize());
        }
        if (scales.length != rows) throw new IllegalArgumentException(scales.length + " scales for " + rows + " rows");
        this.q = q;
        this.scales = scales;
        this.rows = rows;
        this.cols = cols;
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public String format() { return "int8"; }
    @Override public long byteSize() { return q.byteSize() + 4L * rows; }

    public MemorySegment quants() { return q; }
    public float[] scales() { return scales; }

    @Override
    public void readRow(int r, float[] out, int off) {
        QuantKernels.q8Decode(q, (long) r * cols, 0, cols, out, off, scales[r], null, 0);
    }

    @Override
    public void decodeTile(int r0, int nr, int k0, int kl, float[] dst) {
        for (int i = 0; i < nr; i++) {
            QuantKernels.q8Decode(q, (long) (r0 + i) * cols, k0, kl, dst, i * kl, scales[r0 + i], null, 0);
        }
    }

    @Override
    public void dotRows(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc) {
        long base = (long) r * cols;
        int main = cols & ~7;
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols;
            float s = QuantKernels.q8Dot(q, base, main, x, xo);
            for (int k = main; k < cols; k++) s += q.get(ValueLayout.JAVA_BYTE, base + k) * x[xo + k];
            acc[j] = scales[r] * s;
        }
    }

    @Override
    public void dotRowsScalar(int r, float[] x, int x0, int nx, float[] acc) {
        long base = (long) r * cols;
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols;
            float s = 0;
            for (int k = 0; k < cols; k++) s += scales[r] * q.get(ValueLayout.JAVA_BYTE, base + k) * x[xo + k];
            acc[j] = s;
        }
    }
}
