package org.chatglm4j.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.chatglm4j.tensor.MatMul;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tensor.WeightMatrix;

/**
 * A linear layer {@code y[y0 + b] = W·x[x0 + b] (+ bias)}, {@code b < n}, as one parallel step of a forward pass:
 * the pieces are whole 16-row tiles of W (the prefill kernel handles a partial tile only at a matrix's end), the
 * decode regime's inputs are prepared once for all threads, and every worker has its own matmul scratch. Owns that
 * buffer and scratch (grown on demand, then reused) and holds the step's operands in fields, so a decode loop
 * allocates nothing. One step at a time: it serves the one thread that runs its forward.
 */
final class ParallelLinear {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Rows of W per unit of work: a whole prefill tile. */
    static final int TILE = 16;

    /**
     * Runs on output rows {@code [r0, r1)} of input {@code b} right after a piece computed them (bias included),
     * while they are in cache: {@code y[base + r]} is row {@code r}'s value.
     */
    @FunctionalInterface
    interface Epilogue {
        void apply(float[] y, int base, int b, int r0, int r1);
    }

    private final Parallel pool;
    private final float[][] scratch;             // per worker
    private float[] prepared = new float[0];     // the current decode-regime linear's prepared inputs

    // operands of the current step
    private WeightMatrix w;
    private float[] bias, x, y;
    private int x0, y0, n;
    private Epilogue epilogue;
    private final Parallel.RangeTask task = this::tiles;

    /** For matrices of at most {@code maxCols} columns, run on {@code pool}. */
    ParallelLinear(Parallel pool, int maxCols) {
        this.pool = pool;
        this.scratch = new float[pool.threads()][MatMul.scratchFloats(maxCols)];
    }

    /** {@code y = x·Wᵀ + bias} ({@code bias} may be null), then {@code epilogue} (may be null) on each piece. */
    void run(WeightMatrix w, float[] bias, float[] x, int x0, int n, float[] y, int y0, Epilogue epilogue) {
        prepare(w, x, x0, n);
        this.w = w;
        this.bias = bias;
        this.x = x;
        this.x0 = x0;
        this.n = n;
        this.y = y;
        this.y0 = y0;
        this.epilogue = epilogue;
        pool.forRange(tiles(w.rows()), 1, task);
        this.w = null;
        this.bias = this.x = this.y = null;
        this.epilogue = null;
    }

    /** Units of work of a step over {@code rows} rows of W. */
    static int tiles(int rows) {
        return (rows + TILE - 1) / TILE;
    }

    /**
     * Prepares {@code n} inputs of {@code w} once here, not by every thread and piece, when the decode regime will
     * use them; {@link #multiply} then reads them. {@link #run} does this itself; a caller that runs its own
     * parallel step over {@code w} (a fused epilogue over two row ranges) calls it first.
     */
    void prepare(WeightMatrix w, float[] x, int x0, int n) {
        if (MatMul.decodeRegime(n)) {
            int need = MatMul.preparedFloats(w, n);
            if (prepared.length < need) prepared = new float[Math.max(need, 2 * prepared.length)];
            MatMul.prepare(w, x, x0, n, prepared);
        }
    }

    /** Rows {@code [r0, r1)} of {@code y[y0 + b] = W·x[x0 + b]} on {@code worker}'s scratch, inputs {@link #prepare}d. */
    void multiply(WeightMatrix w, float[] x, int x0, int n, float[] y, int y0, int r0, int r1, int worker) {
        MatMul.multiply(w, x, x0, n, y, y0, r0, r1, prepared, scratch[worker]);
    }

    private void tiles(int t0, int t1, int worker) {
        int rows = w.rows();
        int r0 = t0 * TILE, r1 = Math.min(t1 * TILE, rows);
        multiply(w, x, x0, n, y, y0, r0, r1, worker);
        if (bias == null && epilogue == null) return;
        for (int b = 0; b < n; b++) {
            int base = (y0 + b) * rows;
            if (bias != null) {
                int r = r0;
                for (; r + F.length() <= r1; r += F.length()) {
                    FloatVector.fromArray(F, y, base + r).add(FloatVector.fromArray(F, bias, r)).intoArray(y, base + r);
                }
                for (; r < r1; r++) y[base + r] += bias[r];
            }
            if (epilogue != null) epilogue.apply(y, base, b, r0, r1);
        }
    }
}
