package org.chatglm4j.tensor;

import jdk.incubator.vector.FloatVector;

import static jdk.incubator.vector.VectorOperators.ADD;
import static org.chatglm4j.tensor.F16.F;

/**
 * {@code y[y0 + b, r] = Σ_k W[r, k]·x[x0 + b, k]} for {@code b < n} and a slice of the rows of W: {@code x} holds
 * rows of {@code cols} floats, {@code y} rows of {@code rows} floats, both dense row-major arrays; {@code x0} and
 * {@code y0} are row offsets into them.
 *
 * <p>Two regimes. Few inputs (decode: one token per sequence) are memory-bound: each weight row is read once and
 * dotted with up to four inputs at a time, dequantizing in registers. Many inputs (prefill) are compute-bound: a
 * tile of weights is dequantized once into a small cache-resident buffer and reused for every input, with a
 * register-blocked float kernel over k-blocks so the inputs' block stays in L2.
 */
public final class MatMul {
    /** From this many inputs on, the tiled path pays for its dequantization buffer. */
    static final int TILED_MIN_INPUTS = 8;
    /** Rows of a weight tile and columns of a k-block: 4 × 256 floats = 4 KB, with the x block 256 floats per row. */
    static final int TILE_ROWS = 4;
    static final int K_BLOCK = 256;

    private MatMul() {
    }

    /**
     * Floats of scratch one thread needs for {@link #multiply} with matrices of at most {@code maxCols} columns:
     * a dequantized tile, or the dot results plus the prepared inputs of the decode regime.
     */
    public static int scratchFloats(int maxCols) {
        int perInput = maxCols + (maxCols + 31) / 32 + 1;   // the largest WeightMatrix.inputScratch()
        return Math.max(TILE_ROWS * K_BLOCK, TILE_ROWS + TILED_MIN_INPUTS * perInput);
    }

    /** Vector kernels; {@code scratch} holds at least {@link #scratchFloats()} floats private to this thread. */
    public static void multiply(WeightMatrix w, float[] x, int x0, int n, float[] y, int y0, int r0, int r1,
                                float[] scratch) {
        int rows = w.rows();
        if (n < TILED_MIN_INPUTS) {
            // scratch: [0, 4) the dot results, then the prepared inputs (quantized formats only)
            int per = w.inputScratch();
            if (per > 0) w.prepareInputs(x, x0, n, scratch, TILE_ROWS);
            for (int r = r0; r < r1; r++) {
                for (int b = 0; b < n; b += 4) {
                    int nx = Math.min(4, n - b);
                    w.dotRows(r, x, x0 + b, nx, scratch, TILE_ROWS + b * per, scratch);
                    for (int j = 0; j < nx; j++) y[(y0 + b + j) * rows + r] = scratch[j];
                }
            }
            return;
        }
        int cols = w.cols();
        for (int b = 0; b < n; b++) java.util.Arrays.fill(y, (y0 + b) * rows + r0, (y0 + b) * rows + r1, 0f);
        int xBase = x0 * cols, yBase = y0 * rows;
        for (int k0 = 0; k0 < cols; k0 += K_BLOCK) {
            int kl = Math.min(K_BLOCK, cols - k0);
            for (int r = r0; r < r1; r += TILE_ROWS) {
                int nr = Math.min(TILE_ROWS, r1 - r);
                w.decodeTile(r, nr, k0, kl, scratch);
                if (nr == TILE_ROWS) tile4(scratch, kl, x, xBase, cols, k0, n, y, yBase, rows, r);
                else tileAny(scratch, nr, kl, x, xBase, cols, k0, 0, n, y, yBase, rows, r);
            }
        }
    }

    /** Four dequantized weight rows × every input, two inputs at a time: 8 vector accumulators. */
    private static void tile4(float[] t, int kl, float[] x, int xBase, int cols, int k0, int n, float[] y, int yBase,
                              int rows, int r) {
        int upper = F.loopBound(kl);
        int b = 0;
        for (; b + 1 < n; b += 2) {
            int xa = xBase + b * cols + k0, xb = xa + cols;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            int k = 0;
            for (; k < upper; k += F.length()) {
                FloatVector va = FloatVector.fromArray(F, x, xa + k);
                FloatVector vb = FloatVector.fromArray(F, x, xb + k);
                FloatVector w0 = FloatVector.fromArray(F, t, k);
                FloatVector w1 = FloatVector.fromArray(F, t, kl + k);
                FloatVector w2 = FloatVector.fromArray(F, t, 2 * kl + k);
                FloatVector w3 = FloatVector.fromArray(F, t, 3 * kl + k);
                a0 = w0.fma(va, a0); a1 = w1.fma(va, a1); a2 = w2.fma(va, a2); a3 = w3.fma(va, a3);
                b0 = w0.fma(vb, b0); b1 = w1.fma(vb, b1); b2 = w2.fma(vb, b2); b3 = w3.fma(vb, b3);
            }
            float sa0 = a0.reduceLanes(ADD), sa1 = a1.reduceLanes(ADD), sa2 = a2.reduceLanes(ADD), sa3 = a3.reduceLanes(ADD);
            float sb0 = b0.reduceLanes(ADD), sb1 = b1.reduceLanes(ADD), sb2 = b2.reduceLanes(ADD), sb3 = b3.reduceLanes(ADD);
            for (; k < kl; k++) {
                float va = x[xa + k], vb = x[xb + k];
                sa0 += t[k] * va; sa1 += t[kl + k] * va; sa2 += t[2 * kl + k] * va; sa3 += t[3 * kl + k] * va;
                sb0 += t[k] * vb; sb1 += t[kl + k] * vb; sb2 += t[2 * kl + k] * vb; sb3 += t[3 * kl + k] * vb;
            }
            int ya = yBase + b * rows + r, yb = ya + rows;
            y[ya] += sa0; y[ya + 1] += sa1; y[ya + 2] += sa2; y[ya + 3] += sa3;
            y[yb] += sb0; y[yb + 1] += sb1; y[yb + 2] += sb2; y[yb + 3] += sb3;
        }
        if (b < n) tileAny(t, TILE_ROWS, kl, x, xBase, cols, k0, b, n, y, yBase, rows, r);
    }

    private static void tileAny(float[] t, int nr, int kl, float[] x, int xBase, int cols, int k0, int bFrom, int n,
                                float[] y, int yBase, int rows, int r) {
        int upper = F.loopBound(kl);
        for (int b = bFrom; b < n; b++) {
            int xo = xBase + b * cols + k0;
            for (int i = 0; i < nr; i++) {
                FloatVector acc = FloatVector.zero(F);
                int k = 0;
                for (; k < upper; k += F.length()) {
                    acc = FloatVector.fromArray(F, t, i * kl + k).fma(FloatVector.fromArray(F, x, xo + k), acc);
                }
                float s = acc.reduceLanes(ADD);
                for (; k < kl; k++) s += t[i * kl + k] * x[xo + k];
                y[yBase + b * rows + r + i] += s;
            }
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
}
