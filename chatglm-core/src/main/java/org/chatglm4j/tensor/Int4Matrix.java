package org.chatglm4j.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The reference's INT4 values ({@code QuantizedLinear} with {@code weight_bit_width=4}: one scale per row,
 * {@code W[r, c] = scale[r]·q[r, c]}, q ∈ [-8, 7]), packed the chatglm4j way ({@link Q4Layout}) so that 256-bit
 * kernels unpack them in order. A reference checkpoint's packing (column 2j in the high nibble of byte j) is
 * converted once at load time.
 */
public final class Int4Matrix implements WeightMatrix, RowPairKernel {
    private final MemorySegment q;
    private final float[] scales;
    private final int rows;
    private final int cols;
    private final long rowBytes;

    /**
     * Wraps {@code q}, {@code rows} rows of {@link Q4Layout#rowBytes} bytes each, and one scale per row, without
     * copying either: the caller owns both and must not change them while the matrix is in use.
     */
    public Int4Matrix(MemorySegment q, float[] scales, int rows, int cols) {
        this.rowBytes = Q4Layout.rowBytes(cols);
        if (q.byteSize() != rows * rowBytes) {
            throw new IllegalArgumentException("int4 matrix " + rows + "x" + cols + " needs " + rows * rowBytes
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
    @Override public String format() { return "int4"; }
    @Override public long byteSize() { return q.byteSize() + 4L * rows; }
    @Override public int inputScratch() { return cols + 1; }

    /** Per input: the prescaled copy of {@link QuantKernels#prescale}, then the input's sum. */
    @Override
    public void prepareInputs(float[] x, int x0, int n, float[] aux, int off) {
        for (int j = 0; j < n; j++) {
            int xo = (x0 + j) * cols, o = off + j * (cols + 1);
            QuantKernels.prescale(x, xo, cols, aux, o);
            float s = 0;
            for (int k = 0; k < (cols / Q4Layout.UNIT) * Q4Layout.UNIT; k++) s += x[xo + k];
            aux[o + cols] = s;
        }
    }

    /** The packed values, {@code rows} rows of {@link Q4Layout#rowBytes} bytes (not a copy). */
    public MemorySegment quants() { return q; }
    /** The per-row scales, {@code [rows]} (the array itself, not a copy: do not modify). */
    public float[] scales() { return scales; }

    @Override
    public void readRow(int r, float[] out, int off) {
        QuantKernels.q4Decode(q, r * rowBytes, 0, cols, out, off, scales[r], null, 0);
    }

    @Override
    public void decodeTile(int r0, int nr, int k0, int kl, float[] dst) {
        for (int i = 0; i < nr; i++) {
            QuantKernels.q4Decode(q, (r0 + i) * rowBytes, k0, kl, dst, i * kl, scales[r0 + i], null, 0);
        }
    }

    @Override
    public void dotRows(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc) {
        long base = r * rowBytes;
        int units = cols / Q4Layout.UNIT, mainEnd = units * Q4Layout.UNIT;
        if (nx > 1) {   // share the unpacking between inputs (missing ones repeat the last and are overwritten)
            int per = cols + 1;
            QuantKernels.q4Dot4(q, base, units, aux, auxOff, auxOff + Math.min(1, nx - 1) * per,
                    auxOff + Math.min(2, nx - 1) * per, auxOff + Math.min(3, nx - 1) * per, acc);
        }
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols, o = auxOff + j * (cols + 1);
            float s = nx > 1 ? acc[j] : QuantKernels.q4Dot(q, base, units, aux, o);
            float tail = 0;
            for (int k = mainEnd; k < cols; k++) tail += (Q4Layout.get(q, base, k) - 8) * x[xo + k];
            acc[j] = scales[r] * (s - 8 * aux[o + cols] + tail);   // Σ(u−8)·x over the full units, plus the tail
        }
    }

    @Override
    public void dotRowPair(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc) {
        long base = r * rowBytes;
        int units = cols / Q4Layout.UNIT, mainEnd = units * Q4Layout.UNIT, per = cols + 1, l = nx - 1;
        // inputs past nx repeat the last one; their results are not used
        QuantKernels.q4Dot2x4(q, base, base + rowBytes, units, aux, auxOff, auxOff + Math.min(1, l) * per,
                auxOff + Math.min(2, l) * per, auxOff + Math.min(3, l) * per, acc, 0);
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < nx; j++) {
                int xo = (x0 + j) * cols, o = auxOff + j * per;
                float tail = 0;
                for (int k = mainEnd; k < cols; k++) tail += (Q4Layout.get(q, base + i * rowBytes, k) - 8) * x[xo + k];
                acc[4 * i + j] = scales[r + i] * (acc[4 * i + j] - 8 * aux[o + cols] + tail);
            }
        }
    }

    @Override
    public void dotRowsScalar(int r, float[] x, int x0, int nx, float[] acc) {
        long base = r * rowBytes;
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols;
            float s = 0;
            for (int k = 0; k < cols; k++) s += scales[r] * (Q4Layout.get(q, base, k) - 8) * x[xo + k];
            acc[j] = s;
        }
    }
}
