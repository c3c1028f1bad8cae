package org.chatglm4j.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Grouped INT4: 4-bit values packed as in {@link Q4Layout} with an fp16 scale per block of 32 values of a row
 * (the accuracy of ggml's q4_0, which also spends 4.5 bits per weight): {@code W[r, c] = d[r, c/32]·q[r, c]}.
 */
public final class Q4Matrix implements WeightMatrix, RowPairKernel {
    /** Values per scale block along a row. */
    public static final int BLOCK = 32;

    private final MemorySegment q;
    private final MemorySegment scales;
    private final int rows;
    private final int cols;
    private final int blocks;
    private final long rowBytes;
    private final Activations activations;
    /** Values in whole units (the integer kernel's part of a row) and the row's blocks. */
    private final int mainCols;
    /** This matrix with float activations (itself when it has them): the path of batched decode on AVX-512. */
    private final Q4Matrix floatActivations;

    /** With the activation path chosen for this CPU ({@link Activations#defaultFor}). */
    public Q4Matrix(MemorySegment q, MemorySegment scales, int rows, int cols) {
        this(q, scales, rows, cols, Activations.defaultFor("q4"));
    }

    /**
     * Wraps {@code q} ({@code rows} rows of {@link Q4Layout#rowBytes} bytes) and {@code scales} (little-endian fp16,
     * {@code [rows, ceil(cols / 32)]}) without copying: the caller owns both segments and must keep them alive.
     */
    public Q4Matrix(MemorySegment q, MemorySegment scales, int rows, int cols, Activations activations) {
        this.rowBytes = Q4Layout.rowBytes(cols);
        this.blocks = (cols + BLOCK - 1) / BLOCK;
        if (q.byteSize() != rows * rowBytes || scales.byteSize() != 2L * rows * blocks) {
            throw new IllegalArgumentException("q4 matrix " + rows + "x" + cols + ": " + q.byteSize()
                    + " quant bytes and " + scales.byteSize() + " scale bytes do not fit");
        }
        this.q = q;
        this.scales = scales;
        this.rows = rows;
        this.cols = cols;
        this.activations = activations;
        this.mainCols = cols / Q4Layout.UNIT * Q4Layout.UNIT;
        this.floatActivations = activations == Activations.FLOAT ? this : new Q4Matrix(q, scales, rows, cols, Activations.FLOAT);
    }

    /** The same weights with the other activation path (a view: nothing is copied). */
    public Q4Matrix withActivations(Activations a) {
        if (a == activations) return this;
        return a == Activations.FLOAT ? floatActivations : new Q4Matrix(q, scales, rows, cols, a);
    }

    /** The path the decode kernels take for this matrix's inputs. */
    public Activations activations() { return activations; }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public String format() { return "q4"; }
    @Override public long byteSize() { return q.byteSize() + scales.byteSize(); }
    @Override
    public int inputScratch() {
        return activations == Activations.FLOAT ? cols + blocks : IntKernels.preparedFloats(cols, Q4Layout.UNIT);
    }

    /**
     * Per input, float activations: the prescaled copy of {@link QuantKernels#prescale}, then its sums over
     * 32-value blocks. Integer activations: {@link IntKernels#prepare}.
     */
    @Override
    public void prepareInputs(float[] x, int x0, int n, float[] aux, int off) {
        if (activations == Activations.INT8) {
            for (int j = 0; j < n; j++) IntKernels.prepare(x, (x0 + j) * cols, cols, Q4Layout.UNIT, aux, off + j * inputScratch());
            return;
        }
        for (int j = 0; j < n; j++) {
            int xo = (x0 + j) * cols, o = off + j * (cols + blocks);
            QuantKernels.prescale(x, xo, cols, aux, o);
            QuantKernels.blockSums(x, xo, cols, BLOCK, aux, o + cols);
        }
    }

    /** The packed values, {@code rows} rows of {@link Q4Layout#rowBytes} bytes (not a copy). */
    public MemorySegment quants() { return q; }
    /** The fp16 block scales, {@code [rows, ceil(cols / 32)]} little-endian (not a copy). */
    public MemorySegment scaleData() { return scales; }

    private float scale(int r, int k) {
        return QuantKernels.scale(0, scales, 2L * r * blocks, k);
    }

    @Override
    public void readRow(int r, float[] out, int off) {
        QuantKernels.q4Decode(q, r * rowBytes, 0, cols, out, off, 0, scales, 2L * r * blocks);
    }

    @Override
    public void decodeTile(int r0, int nr, int k0, int kl, float[] dst) {
        for (int i = 0; i < nr; i++) {
            int r = r0 + i;
            QuantKernels.q4Decode(q, r * rowBytes, k0, kl, dst, i * kl, 0, scales, 2L * r * blocks);
        }
    }

    @Override
    public void dotRows(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc) {
        long base = r * rowBytes, scaleBase = 2L * r * blocks;
        int units = cols / Q4Layout.UNIT, mainEnd = units * Q4Layout.UNIT;
        if (activations == Activations.INT8) {
            int per = inputScratch(), tail = cols - mainCols;
            for (int j = 0; j < nx; j++) {
                int o = auxOff + j * per, d = o + mainCols / 2 + tail;
                float s = IntKernels.q4Dot(q, base, scales, scaleBase, units, aux, o, aux, d)
                        - 8 * QuantKernels.halfDot(scales, scaleBase, aux, d + blocks, mainCols / BLOCK);   // tail: below
                for (int k = mainCols; k < cols; k++) {
                    s += scale(r, k) * aux[d + k / BLOCK] * ((Q4Layout.get(q, base, k) - 8) * aux[o + mainCols / 2 + k - mainCols]);
                }
                acc[j] = s;
            }
            return;
        }
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols, o = auxOff + j * (cols + blocks);
            float s = QuantKernels.q4DotGrouped(q, base, scales, scaleBase, units, aux, o, aux, o + cols);
            float tail = 0;
            for (int k = mainEnd; k < cols; k++) tail += scale(r, k) * (Q4Layout.get(q, base, k) - 8) * x[xo + k];
            acc[j] = s + tail;
        }
    }

    /** Float activations only ({@link MatMul} switches a batch to {@link #withActivations} FLOAT first). */
    @Override
    public void dotRowPair(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc) {
        if (activations != Activations.FLOAT) throw new IllegalStateException("q4 row pairs need float activations");
        long base = r * rowBytes, scaleBase = 2L * r * blocks;
        int units = cols / Q4Layout.UNIT, mainEnd = units * Q4Layout.UNIT, per = cols + blocks, l = nx - 1;
        // inputs past nx repeat the last one; their results are not used
        QuantKernels.q4Dot2x4Grouped(q, base, base + rowBytes, units, scales, scaleBase, scaleBase + 2L * blocks, aux,
                auxOff, auxOff + Math.min(1, l) * per, auxOff + Math.min(2, l) * per, auxOff + Math.min(3, l) * per, acc, 0);
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < nx; j++) {
                int xo = (x0 + j) * cols;
                float s = acc[4 * i + j];
                for (int k = mainEnd; k < cols; k++) s += scale(r + i, k) * (Q4Layout.get(q, base + i * rowBytes, k) - 8) * x[xo + k];
                acc[4 * i + j] = s;
            }
        }
    }

    @Override
    public void dotRowsScalar(int r, float[] x, int x0, int nx, float[] acc) {
        long base = r * rowBytes;
        if (activations == Activations.INT8) {
            // the definition: Σ_b dw_b·dx_b·Σ_{e∈b} q_e·xq_e, integer sums per block
            int[] xq = new int[cols];
            float[] dx = new float[blocks];
            for (int j = 0; j < nx; j++) {
                IntKernels.quantizeBlocks(x, (x0 + j) * cols, cols, xq, dx);
                float s = 0;
                for (int b = 0; b < blocks; b++) {
                    int dot = 0;
                    for (int k = b * BLOCK; k < Math.min(cols, (b + 1) * BLOCK); k++) dot += (Q4Layout.get(q, base, k) - 8) * xq[k];
                    s += scale(r, b * BLOCK) * dx[b] * dot;
                }
                acc[j] = s;
            }
            return;
        }
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols;
            float s = 0;
            for (int k = 0; k < cols; k++) s += scale(r, k) * (Q4Layout.get(q, base, k) - 8) * x[xo + k];
            acc[j] = s;
        }
    }
}
