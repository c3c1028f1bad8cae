package org.chatglm4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Grouped INT8: int8 values stored as in {@link Int8Layout} (a unit of 32 values is one block) with an fp16 scale
 * per block of 32 values of a row (like ggml's q8_0, in two arrays): {@code W[r, c] = d[r, c/32]·q[r, c]}. More
 * accurate than one scale per row.
 */
public final class Q8Matrix implements WeightMatrix {
    static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(F16.LE);
    /** Values per scale block along a row (one {@link Int8Layout} unit). */
    public static final int BLOCK = 32;

    private final MemorySegment q;
    private final MemorySegment scales;
    private final int rows;
    private final int cols;
    private final int blocks;
    private final long rowBytes;
    private final Activations activations;

    /** With the activation path chosen for this CPU ({@link Activations#defaultFor}). */
    public Q8Matrix(MemorySegment q, MemorySegment scales, int rows, int cols) {
        this(q, scales, rows, cols, Activations.defaultFor("q8"));
    }

    /**
     * Wraps {@code q} ({@code rows} rows of {@link Int8Layout#rowBytes} bytes) and {@code scales} (little-endian
     * fp16, {@code [rows, ceil(cols / 32)]}) without copying: the caller owns both segments and must keep them alive.
     */
    public Q8Matrix(MemorySegment q, MemorySegment scales, int rows, int cols, Activations activations) {
        this.blocks = (cols + BLOCK - 1) / BLOCK;
        this.rowBytes = Int8Layout.rowBytes(cols);
        if (q.byteSize() != rows * rowBytes || scales.byteSize() != 2L * rows * blocks) {
            throw new IllegalArgumentException("q8 matrix " + rows + "x" + cols + ": " + q.byteSize()
                    + " quant bytes and " + scales.byteSize() + " scale bytes do not fit");
        }
        this.q = q;
        this.scales = scales;
        this.rows = rows;
        this.cols = cols;
        this.activations = activations;
    }

    /** The same weights with the other activation path (a view: nothing is copied). */
    public Q8Matrix withActivations(Activations a) {
        return a == activations ? this : new Q8Matrix(q, scales, rows, cols, a);
    }

    /** The path the decode kernels take for this matrix's inputs. */
    public Activations activations() { return activations; }

    /** Bytes of the fp16 scales of a {@code [rows, cols]} matrix: two per block of 32 values of each row. */
    public static long scaleBytes(int rows, int cols) {
        return 2L * rows * ((cols + BLOCK - 1) / BLOCK);
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }
    @Override public String format() { return "q8"; }
    @Override public long byteSize() { return q.byteSize() + scales.byteSize(); }
    @Override
    public int inputScratch() {
        return activations == Activations.FLOAT ? cols + blocks : IntKernels.preparedFloats(cols, Int8Layout.UNIT);
    }

    /**
     * Per input, float activations: the prescaled copy of {@link QuantKernels#prescale8}, then its sums over
     * 32-value blocks. Integer activations: {@link IntKernels#prepare}.
     */
    @Override
    public void prepareInputs(float[] x, int x0, int n, float[] aux, int off) {
        if (activations == Activations.INT8) {
            for (int j = 0; j < n; j++) IntKernels.prepare(x, (x0 + j) * cols, cols, Int8Layout.UNIT, aux, off + j * inputScratch());
            return;
        }
        for (int j = 0; j < n; j++) {
            int xo = (x0 + j) * cols, o = off + j * (cols + blocks);
            QuantKernels.prescale8(x, xo, cols, aux, o);
            QuantKernels.blockSums(x, xo, cols, BLOCK, aux, o + cols);
        }
    }

    /** The packed values, {@code rows} rows of {@link Int8Layout#rowBytes} bytes (not a copy). */
    public MemorySegment quants() { return q; }
    /** The fp16 block scales, {@code [rows, ceil(cols / 32)]} little-endian (not a copy). */
    public MemorySegment scaleData() { return scales; }

    private float scale(int r, int k) {
        return Float.float16ToFloat(scales.get(HALF, 2L * ((long) r * blocks + k / BLOCK)));
    }

    @Override
    public void readRow(int r, float[] out, int off) {
        QuantKernels.i8Decode(q, r * rowBytes, 0, cols, out, off, 0, scales, 2L * r * blocks);
    }

    @Override
    public void decodeTile(int r0, int nr, int k0, int kl, float[] dst) {
        for (int i = 0; i < nr; i++) {
            int r = r0 + i;
            QuantKernels.i8Decode(q, r * rowBytes, k0, kl, dst, i * kl, 0, scales, 2L * r * blocks);
        }
    }

    @Override
    public void dotRows(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc) {
        long base = r * rowBytes, scaleBase = 2L * r * blocks;
        int full = cols / BLOCK;
        if (activations == Activations.INT8) {
            int per = inputScratch(), main = full * BLOCK, tail = cols - main;
            for (int j = 0; j < nx; j++) {
                int o = auxOff + j * per, d = o + main / 2 + tail;
                float s = IntKernels.q8Dot(q, base, scales, scaleBase, full, aux, o, aux, d);
                for (int k = main; k < cols; k++) {
                    s += scale(r, k) * aux[d + k / BLOCK] * (Int8Layout.get(q, base, k) * aux[o + main / 2 + k - main]);
                }
                acc[j] = s;
            }
            return;
        }
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols, o = auxOff + j * (cols + blocks);
            float s = QuantKernels.i8DotGrouped(q, base, scales, scaleBase, full, aux, o, aux, o + cols);
            for (int k = full * BLOCK; k < cols; k++) s += scale(r, k) * Int8Layout.get(q, base, k) * x[xo + k];
            acc[j] = s;
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
                    for (int k = b * BLOCK; k < Math.min(cols, (b + 1) * BLOCK); k++) dot += Int8Layout.get(q, base, k) * xq[k];
                    s += scale(r, b * BLOCK) * dx[b] * dot;
                }
                acc[j] = s;
            }
            return;
        }
        for (int j = 0; j < nx; j++) {
            int xo = (x0 + j) * cols;
            float s = 0;
            for (int k = 0; k < cols; k++) s += scale(r, k) * Int8Layout.get(q, base, k) * x[xo + k];
            acc[j] = s;
        }
    }
}
