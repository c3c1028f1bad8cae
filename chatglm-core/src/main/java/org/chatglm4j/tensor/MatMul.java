package org.chatglm4j.tensor;

import jdk.incubator.vector.FloatVector;

import jdk.incubator.vector.VectorSpecies;

/**
 * {@code y[y0 + b, r] = Σ_k W[r, k]·x[x0 + b, k]} for {@code b < n} and a slice of the rows of W: {@code x} holds
 * rows of {@code cols} floats, {@code y} rows of {@code rows} floats, both dense row-major arrays; {@code x0} and
 * {@code y0} are row offsets into them.
 *
 * <p>Two regimes. Few inputs (decode: one token per sequence) are memory-bound: each weight row is read once and
 * dotted with up to four inputs at a time, dequantizing in registers. Many inputs (prefill) are compute-bound: a
 * tile of 16 weight rows × 256 columns is dequantized once, packed column-major into an L1-sized buffer and reused
 * for every input by a register-blocked kernel (16 rows × 6 inputs: 12 vector accumulators, two weight loads and
 * six broadcasts per column), the BLIS way; the inputs' 256-column block stays in L2.
 */
public final class MatMul {
    /** The micro-kernels are written for eight-float vectors (AVX2; AVX-512 machines run them too). */
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    /** The transposed product of the backward uses the widest vectors (its tile loop is plain FMA). */
    private static final VectorSpecies<Float> T = FloatVector.SPECIES_PREFERRED;
    /**
     * From this many inputs on, the tiled path pays for dequantizing and packing its tiles. Linear work on the 6B
     * geometry (int4, two AVX2 cores), decode regime against tiled: 16 inputs 3.3–3.8 s against 6.3 s, 24 inputs
     * 4.2–5.1 s against 5.9–6.3 s, 32 inputs 6.6 s against 7.1–7.5 s, 48 inputs 10.4–10.6 s against 8.6–9.2 s.
     * Below it, short prompts prefill up to twice as fast.
     */
    static final int TILED_MIN_INPUTS = 36;
    /** Rows of a packed weight tile (two 8-float vectors) and columns of a k-block. */
    static final int TILE_ROWS = 16;
    static final int K_BLOCK = 256;
    /** Inputs per micro-kernel call. */
    static final int GROUP = 6;

    private MatMul() {
    }

    /**
     * Floats of scratch one thread needs for {@link #multiply} with matrices of at most {@code maxCols} columns:
     * a dequantized tile and its packed copy, or the dot results plus the prepared inputs of the decode regime.
     */
    public static int scratchFloats(int maxCols) {
        int perInput = maxCols + 2 * ((maxCols + 31) / 32) + 1;   // the largest WeightMatrix.inputScratch()
        return Math.max(2 * TILE_ROWS * K_BLOCK + 2 * TILE_ROWS * 6, DECODE_RESULTS + TILED_MIN_INPUTS * perInput);
    }

    /** Floats of dot results at the start of the decode regime's scratch: two rows × four inputs. */
    private static final int DECODE_RESULTS = 8;

    /**
     * Whether batched decode uses the two-row kernels ({@link RowPairKernel}): only with {@code
     * -Dchatglm.rowPairs=true} and where 512-bit vectors are native (they keep 24 vectors live). Off by default:
     * faster in isolation, but slower end to end in every clean-enough run so far (docs/performance.md).
     */
    static final boolean ROW_PAIRS = Activations.cpu().equals("avx512")
            && "true".equalsIgnoreCase(System.getProperty("chatglm.rowPairs"));

    /**
     * The matrix whose kernels multiply {@code n} inputs: {@code w} itself, except that a batch (2 to 35 inputs) of
     * a q4 matrix with int8 activations runs on float activations where the two-row kernel is used: measured
     * faster for batches than the integer kernel, which does each input's multiply-adds separately (see
     * docs/performance.md). The tiled regime uses float activations too.
     */
    public static WeightMatrix effective(WeightMatrix w, int n) {
        if (ROW_PAIRS && n > 1 && decodeRegime(n) && w instanceof Q4Matrix m) return m.withActivations(Activations.FLOAT);
        return w;
    }

    /** Whether {@link #multiply} with {@code n} inputs uses the decode regime (and so {@link #prepare}d inputs). */
    public static boolean decodeRegime(int n) {
        return n < TILED_MIN_INPUTS;
    }

    /** Floats {@link #prepare} writes for {@code n} inputs of {@code w}. */
    public static int preparedFloats(WeightMatrix w, int n) {
        return n * effective(w, n).inputScratch();
    }

    /**
     * Prepares the inputs once for all the threads that will share a decode-regime {@link #multiply} (a prescaled
     * copy and block sums, for the 4-bit formats): {@code prepared} then goes to every call.
     */
    public static void prepare(WeightMatrix w, float[] x, int x0, int n, float[] prepared) {
        w = effective(w, n);
        if (w.inputScratch() > 0) w.prepareInputs(x, x0, n, prepared, 0);
    }

    /** Vector kernels; {@code scratch} holds at least {@link #scratchFloats} floats private to this thread. */
    public static void multiply(WeightMatrix w, float[] x, int x0, int n, float[] y, int y0, int r0, int r1,
                                float[] scratch) {
        w = effective(w, n);
        if (decodeRegime(n) && w.inputScratch() > 0) {
            // scratch: the dot results, then the prepared inputs
            w.prepareInputs(x, x0, n, scratch, DECODE_RESULTS);
            decode(w, x, x0, n, y, y0, r0, r1, scratch, DECODE_RESULTS, scratch);
        } else {
            multiply(w, x, x0, n, y, y0, r0, r1, null, scratch);
        }
    }

    /** As above with inputs already {@link #prepare}d (ignored by formats that need none, and when tiled). */
    public static void multiply(WeightMatrix w, float[] x, int x0, int n, float[] y, int y0, int r0, int r1,
                                float[] prepared, float[] scratch) {
        if (decodeRegime(n)) {
            w = effective(w, n);
            decode(w, x, x0, n, y, y0, r0, r1, prepared, 0, scratch);
            return;
        }
        tiled(w, x, x0, n, y, y0, r0, r1, scratch);
    }

    private static void decode(WeightMatrix w, float[] x, int x0, int n, float[] y, int y0, int r0, int r1,
                               float[] aux, int auxOff, float[] scratch) {
        int rows = w.rows(), per = w.inputScratch();
        if (ROW_PAIRS && n > 1 && w instanceof RowPairKernel k) {
            // batched decode, register-tiled: two rows × four inputs per call; a last odd row goes on below
            for (; r0 + 1 < r1; r0 += 2) {
                for (int b = 0; b < n; b += 4) {
                    int nx = Math.min(4, n - b);
                    if (nx == 1) {   // one input left: the one-row kernel, twice
                        w.dotRows(r0 + 1, x, x0 + b, 1, aux, auxOff + b * per, scratch);
                        scratch[4] = scratch[0];
                        w.dotRows(r0, x, x0 + b, 1, aux, auxOff + b * per, scratch);
                    } else {
                        k.dotRowPair(r0, x, x0 + b, nx, aux, auxOff + b * per, scratch);
                    }
                    for (int j = 0; j < nx; j++) {
                        y[(y0 + b + j) * rows + r0] = scratch[j];
                        y[(y0 + b + j) * rows + r0 + 1] = scratch[4 + j];
                    }
                }
            }
        }
        for (int r = r0; r < r1; r++) {
            for (int b = 0; b < n; b += 4) {
                int nx = Math.min(4, n - b);
                w.dotRows(r, x, x0 + b, nx, aux, auxOff + b * per, scratch);
                for (int j = 0; j < nx; j++) y[(y0 + b + j) * rows + r] = scratch[j];
            }
        }
    }

    private static void tiled(WeightMatrix w, float[] x, int x0, int n, float[] y, int y0, int r0, int r1,
                              float[] scratch) {
        int rows = w.rows();
        int cols = w.cols();
        int packed = TILE_ROWS * K_BLOCK;   // scratch: [0, packed) the row-major tile, [packed, 2·packed) packed
        for (int b = 0; b < n; b++) java.util.Arrays.fill(y, (y0 + b) * rows + r0, (y0 + b) * rows + r1, 0f);
        for (int k0 = 0; k0 < cols; k0 += K_BLOCK) {
            int kl = Math.min(K_BLOCK, cols - k0);
            for (int r = r0; r < r1; r += TILE_ROWS) {
                int nr = Math.min(TILE_ROWS, r1 - r);
                w.decodeTile(r, nr, k0, kl, scratch);
                // pack column-major: p[k·16 + i] = W[r + i, k0 + k], rows past nr are zero
                for (int i = 0; i < TILE_ROWS; i++) {
                    if (i < nr) {
                        for (int k = 0; k < kl; k++) scratch[packed + k * TILE_ROWS + i] = scratch[i * kl + k];
                    } else {
                        for (int k = 0; k < kl; k++) scratch[packed + k * TILE_ROWS + i] = 0f;
                    }
                }
                int b = 0;
                for (; b + GROUP <= n; b += GROUP) {
                    kernel16x6(scratch, packed, kl, x, (x0 + b) * cols + k0, cols, y, (y0 + b) * rows + r, rows, nr);
                }
                for (; b < n; b++) kernel16x1(scratch, packed, kl, x, (x0 + b) * cols + k0, y, (y0 + b) * rows + r, nr);
            }
        }
    }

    /**
     * {@code y[j·rows + i] += Σ_k p[k·16 + i]·x[xo + j·cols + k]} for 16 rows i and 6 inputs j: 12 accumulators.
     * Written out in full: C2 keeps it all in registers only without helper calls.
     */
    private static void kernel16x6(float[] p, int po, int kl, float[] x, int xo, int cols, float[] y, int yo,
                                   int rows, int nr) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0;
        FloatVector d0 = a0, d1 = a0, e0 = a0, e1 = a0, f0 = a0, f1 = a0;
        int xa = xo, xb = xo + cols, xc = xo + 2 * cols, xd = xo + 3 * cols, xe = xo + 4 * cols, xf = xo + 5 * cols;
        for (int k = 0; k < kl; k++) {
            FloatVector w0 = FloatVector.fromArray(F, p, po + k * 16);
            FloatVector w1 = FloatVector.fromArray(F, p, po + k * 16 + 8);
            FloatVector v = FloatVector.broadcast(F, x[xa + k]);
            a0 = w0.fma(v, a0);
            a1 = w1.fma(v, a1);
            v = FloatVector.broadcast(F, x[xb + k]);
            b0 = w0.fma(v, b0);
            b1 = w1.fma(v, b1);
            v = FloatVector.broadcast(F, x[xc + k]);
            c0 = w0.fma(v, c0);
            c1 = w1.fma(v, c1);
            v = FloatVector.broadcast(F, x[xd + k]);
            d0 = w0.fma(v, d0);
            d1 = w1.fma(v, d1);
            v = FloatVector.broadcast(F, x[xe + k]);
            e0 = w0.fma(v, e0);
            e1 = w1.fma(v, e1);
            v = FloatVector.broadcast(F, x[xf + k]);
            f0 = w0.fma(v, f0);
            f1 = w1.fma(v, f1);
        }
        if (nr == 16) {
            int o = yo;
            a0.add(FloatVector.fromArray(F, y, o)).intoArray(y, o);
            a1.add(FloatVector.fromArray(F, y, o + 8)).intoArray(y, o + 8);
            o += rows;
            b0.add(FloatVector.fromArray(F, y, o)).intoArray(y, o);
            b1.add(FloatVector.fromArray(F, y, o + 8)).intoArray(y, o + 8);
            o += rows;
            c0.add(FloatVector.fromArray(F, y, o)).intoArray(y, o);
            c1.add(FloatVector.fromArray(F, y, o + 8)).intoArray(y, o + 8);
            o += rows;
            d0.add(FloatVector.fromArray(F, y, o)).intoArray(y, o);
            d1.add(FloatVector.fromArray(F, y, o + 8)).intoArray(y, o + 8);
            o += rows;
            e0.add(FloatVector.fromArray(F, y, o)).intoArray(y, o);
            e1.add(FloatVector.fromArray(F, y, o + 8)).intoArray(y, o + 8);
            o += rows;
            f0.add(FloatVector.fromArray(F, y, o)).intoArray(y, o);
            f1.add(FloatVector.fromArray(F, y, o + 8)).intoArray(y, o + 8);
        } else {
            // a partial tile (the last rows of a matrix): through the end of p, past the packed tile
            int t = po + TILE_ROWS * K_BLOCK;
            a0.intoArray(p, t); a1.intoArray(p, t + 8); b0.intoArray(p, t + 16); b1.intoArray(p, t + 24);
            c0.intoArray(p, t + 32); c1.intoArray(p, t + 40); d0.intoArray(p, t + 48); d1.intoArray(p, t + 56);
            e0.intoArray(p, t + 64); e1.intoArray(p, t + 72); f0.intoArray(p, t + 80); f1.intoArray(p, t + 88);
            for (int j = 0; j < 6; j++) {
                for (int i = 0; i < nr; i++) y[yo + j * rows + i] += p[t + 16 * j + i];
            }
        }
    }

    /** One input against the packed tile. */
    private static void kernel16x1(float[] p, int po, int kl, float[] x, int xo, float[] y, int yo, int nr) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int k = 0; k < kl; k++) {
            FloatVector v = FloatVector.broadcast(F, x[xo + k]);
            a0 = FloatVector.fromArray(F, p, po + k * 16).fma(v, a0);
            a1 = FloatVector.fromArray(F, p, po + k * 16 + 8).fma(v, a1);
        }
        if (nr == 16) {
            a0.add(FloatVector.fromArray(F, y, yo)).intoArray(y, yo);
            a1.add(FloatVector.fromArray(F, y, yo + 8)).intoArray(y, yo + 8);
        } else {
            int t = po + TILE_ROWS * K_BLOCK;
            a0.intoArray(p, t);
            a1.intoArray(p, t + 8);
            for (int i = 0; i < nr; i++) y[yo + i] += p[t + i];
        }
    }

    /** Scalar twin of {@link #multiply}: the definition, one dot product at a time. */
    public static void multiplyScalar(WeightMatrix w, float[] x, int x0, int n, float[] y, int y0, int r0, int r1) {
        int rows = w.rows();
        float[] acc = new float[1];
        for (int r = r0; r < r1; r++) {
            for (int b = 0; b < n; b++) {
                w.dotRowsScalar(r, x, x0 + b, 1, acc);
                y[(y0 + b) * rows + r] = acc[0];
            }
        }
    }

    /** Column blocks {@link #multiplyTransposed} splits a matrix's inputs into: the units of parallel work. */
    public static int transposedBlocks(WeightMatrix w) {
        return (w.cols() + K_BLOCK - 1) / K_BLOCK;
    }

    /** Floats of scratch one thread needs for {@link #multiplyTransposed}. */
    public static int transposedScratchFloats() {
        return TILE_ROWS * K_BLOCK;
    }

    /**
     * The backward of {@code y = x·Wᵀ} with respect to x: {@code dx[b, c] += Σ_r dy[b, r]·W[r, c]} for {@code b <
     * n} and the columns of blocks {@code [kb0, kb1)} (see {@link #transposedBlocks}). The weights are read in their
     * own format, a dequantized 16 × 256 tile at a time (never a float32 copy of the matrix). Register-tiled over
     * four inputs × two vectors of columns: each tile row is loaded once for four inputs, the sums over the tile's
     * rows stay in registers, and dx is read and written once per tile. Threads given different blocks write
     * disjoint columns.
     */
    public static void multiplyTransposed(WeightMatrix w, float[] dy, int n, float[] dx, int kb0, int kb1,
                                          float[] scratch) {
        int rows = w.rows(), cols = w.cols(), pair = 2 * T.length();
        for (int kb = kb0; kb < kb1; kb++) {
            int k0 = kb * K_BLOCK, kl = Math.min(K_BLOCK, cols - k0), kv = kl - kl % pair;
            for (int r = 0; r < rows; r += TILE_ROWS) {
                int nr = Math.min(TILE_ROWS, rows - r);
                w.decodeTile(r, nr, k0, kl, scratch);
                int b = 0;
                for (; b + 4 <= n; b += 4) transposedTile4(scratch, nr, kl, kv, dy, b * rows + r, rows, dx, b * cols + k0, cols);
                for (; b < n; b++) transposedTile1(scratch, nr, kl, kv, dy, b * rows + r, dx, b * cols + k0);
            }
        }
    }

    /** {@code dx[j][k] += Σ_i dy[j][i]·tile[i][k]} for four inputs j (rows {@code stride} apart in dy and dx). */
    private static void transposedTile4(float[] t, int nr, int kl, int kv, float[] dy, int g, int gStride,
                                        float[] dx, int x, int xStride) {
        int vl = T.length();
        for (int k = 0; k < kv; k += 2 * vl) {
            FloatVector a00 = FloatVector.zero(T), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
            for (int i = 0, to = k; i < nr; i++, to += kl) {
                FloatVector w0 = FloatVector.fromArray(T, t, to), w1 = FloatVector.fromArray(T, t, to + vl);
                FloatVector d = FloatVector.broadcast(T, dy[g + i]);
                a00 = w0.fma(d, a00);
                a01 = w1.fma(d, a01);
                d = FloatVector.broadcast(T, dy[g + gStride + i]);
                a10 = w0.fma(d, a10);
                a11 = w1.fma(d, a11);
                d = FloatVector.broadcast(T, dy[g + 2 * gStride + i]);
                a20 = w0.fma(d, a20);
                a21 = w1.fma(d, a21);
                d = FloatVector.broadcast(T, dy[g + 3 * gStride + i]);
                a30 = w0.fma(d, a30);
                a31 = w1.fma(d, a31);
            }
            addInto(dx, x + k, a00, a01);
            addInto(dx, x + xStride + k, a10, a11);
            addInto(dx, x + 2 * xStride + k, a20, a21);
            addInto(dx, x + 3 * xStride + k, a30, a31);
        }
        for (int j = 0; j < 4; j++) transposedColumns(t, nr, kl, kv, dy, g + j * gStride, dx, x + j * xStride);
    }

    /** One input: {@code dx[k] += Σ_i dy[i]·tile[i][k]}. */
    private static void transposedTile1(float[] t, int nr, int kl, int kv, float[] dy, int g, float[] dx, int x) {
        int vl = T.length();
        for (int k = 0; k < kv; k += 2 * vl) {
            FloatVector a0 = FloatVector.zero(T), a1 = a0;
            for (int i = 0, to = k; i < nr; i++, to += kl) {
                FloatVector d = FloatVector.broadcast(T, dy[g + i]);
                a0 = FloatVector.fromArray(T, t, to).fma(d, a0);
                a1 = FloatVector.fromArray(T, t, to + vl).fma(d, a1);
            }
            addInto(dx, x + k, a0, a1);
        }
        transposedColumns(t, nr, kl, kv, dy, g, dx, x);
    }

    /** The columns {@code [kv, kl)} past the last pair of vectors, one at a time. */
    private static void transposedColumns(float[] t, int nr, int kl, int kv, float[] dy, int g, float[] dx, int x) {
        for (int k = kv; k < kl; k++) {
            float s = 0f;
            for (int i = 0; i < nr; i++) s = Math.fma(t[i * kl + k], dy[g + i], s);
            dx[x + k] += s;
        }
    }

    private static void addInto(float[] dx, int o, FloatVector a0, FloatVector a1) {
        FloatVector.fromArray(T, dx, o).add(a0).intoArray(dx, o);
        FloatVector.fromArray(T, dx, o + T.length()).add(a1).intoArray(dx, o + T.length());
    }

    /** Scalar twin of {@link #multiplyTransposed} over all columns: whole rows from {@link WeightMatrix#readRow}. */
    public static void multiplyTransposedScalar(WeightMatrix w, float[] dy, int n, float[] dx) {
        int rows = w.rows(), cols = w.cols();
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.readRow(r, row, 0);
            for (int b = 0; b < n; b++) {
                float g = dy[b * rows + r];
                for (int c = 0; c < cols; c++) dx[b * cols + c] += g * row[c];
            }
        }
    }
}
