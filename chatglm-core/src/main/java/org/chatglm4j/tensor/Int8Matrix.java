package org.chatglm4j.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The reference's INT8 values ({@code QuantizedLinear} with {@code weight_bit_width=8}: one scale per row,
 * {@code W[r, c] = scale[r]·q[r, c]}), stored the chatglm4j way ({@link Int8Layout}) so that a 256-bit kernel
 * unpacks eight weights with one mask and one conversion. A reference checkpoint's row-major int8 is converted once
 * at load time.
 */
public final class Int8Matrix implements WeightMatrix {
    private final MemorySegment q;
    private final float[] scales;
    private final int rows;
    private final int cols;
    private final long rowBytes;

    /**
     * Wraps {@code q}, {@code rows} rows of {@link Int8Layout#rowBytes} bytes each, and one scale per row, without
     * copying either: the caller owns both and must not change them while the matrix is in use.
     */
    public Int8Matrix(MemorySegment q, float[] scales, int rows, int cols) {
        this.rowBytes = Int8Layout.rowBytes(cols);
        if (q.byteSize() != rows * rowBytes) {
            throw new IllegalArgumentException("int8 matrix " + rows + "x" + cols + " needs " + rows * rowBytes
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
    @Override public int inputScratch() { return cols + 1; }

    /** The packed values, {@code rows} rows of {@link Int8Layout#rowBytes} bytes (not a copy). */
    public MemorySegment quants() { return q; }
    /** The per-row scales, {@code [rows]} (the array itself, not a copy: do not modify). */
    public float[] scales() { return scales; }

    /** The signed quantized value {@code q[r, c]}. */
    public int quant(int r, int c) {
        return Int8Layout.get(q, r * rowBytes, c);
    }

    /** Per input: the copy prescaled by {@code 256^-k} for byte k ({@link QuantKernels#prescale8}), then its sum. */
    @Override
    public void prepareInputs(float[] x, int x0, int n, float[] aux, int off) {
        int mainEnd = (cols / Int8Layout.UNIT) * Int8Layout.UNIT;
        for (int j = 0; j < n; j++) {
            int xo = (x0 + j) * cols, o = off + j * (cols + 1);
            QuantKernels.prescale8(x, xo, cols, aux, o);
            float s = 0;
            for (int k = 0; k < mainEnd; k++) s += x[xo + k];
            aux[o + cols] = s;
        }
    }

    @Override
    public void readRow(int r, float[] out, int off) {
        QuantKernels.i8Decode(q, r * rowBytes, 0, cols, out, off, scales[r], null, 0);
    }

    @Override
    public void decodeTile(int r0, int nr, int k0, int kl, float[] dst) {
        for (int i = 0; i < nr; i++) {
            QuantKernels.i8Decode(q, (r0 + i) * rowBytes, k0, kl, dst, i * kl, scales[r0 + i], null, 0);
        }
    }

    @Override
    public void dotRows(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc) {
        long base = r * rowBytes;
        int units = cols / Int8Layout.UNIT, mainEnd = units * Int8Layout.UNIT;
        if (nx > 1) {   // share the unpacking between inputs (missing ones repeat the last and are overwritten)
            int per = cols + 1;
            QuantKernels.i8Dot4(q, base, units, aux, auxOff, auxOff + Math.min(1, nx - 1) * per,
                    auxOff + Math.min(2, nx - 1) * per, auxOff + Math.min(3, nx - 1) * per, acc);
        }
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols, o = auxOff + j * (cols + 1);
            float s = nx > 1 ? acc[j] : QuantKernels.i8Dot(q, base, units, aux, o);
            float tail = 0;
            for (int k = mainEnd; k < cols; k++) tail += Int8Layout.get(q, base, k) * x[xo + k];
            acc[j] = scales[r] * (s - 128 * aux[o + cols] + tail);   // Σ(u−128)·x over the full units, plus the tail
        }
    }

    @Override
    public void dotRowsScalar(int r, float[] x, int x0, int nx, float[] acc) {
        long base = r * rowBytes;
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols;
            float s = 0;
            for (int k = 0; k < cols; k++) s += scales[r] * Int8Layout.get(q, base, k) * x[xo + k];
            acc[j] = s;
        }
    }
}
