package org.chatglm4j.tensor;

/**
 * A weight matrix {@code W[rows, cols]} in PyTorch's Linear layout ({@code [out_features, in_features]}, used as
 * {@code y = x·Wᵀ}), stored in one format. Each format fuses its dequantization into the dot products: weights are
 * never expanded to a float32 copy of the matrix.
 *
 * <p>Every vector kernel has a plain scalar twin (the {@code *Scalar} methods) that the tests compare against.
 */
public sealed interface WeightMatrix permits F32Matrix, F16Matrix, BF16Matrix, Int8Matrix, Int4Matrix, Q8Matrix, Q4Matrix {

    /** Output features: the length of {@code y} in {@code y = x·Wᵀ}. */
    int rows();

    /** Input features: the length of each input vector {@code x}. */
    int cols();

    /** Short name of the storage format ("f16", "int4", ...). */
    String format();

    /** Bytes of weight data read by one full pass over the matrix. */
    long byteSize();

    /** Row {@code r} dequantized to float32 into {@code out[off, off + cols)} (embedding lookup). */
    void readRow(int r, float[] out, int off);

    /** Floats of per-input data {@link #dotRows} needs, prepared once per input by {@link #prepareInputs}. */
    default int inputScratch() {
        return 0;
    }

    /**
     * Prepares what {@link #dotRows} needs of inputs {@code x0 … x0+n-1} (e.g. a prescaled copy, block sums) into
     * {@code aux[off + j·inputScratch(), …)}: once per input and thread, reused for every row.
     */
    default void prepareInputs(float[] x, int x0, int n, float[] aux, int off) {
    }

    /**
     * Fused dequantize-and-dot of row {@code r} with {@code nx} (1 to 4) consecutive rows of {@code x}:
     * {@code acc[j] = W[r]·x[(x0 + j)·cols, …)} for {@code j < nx}. Vector kernel: the weight row is read once for
     * all {@code nx} inputs, which is what decode (one token per sequence) needs. {@code aux[auxOff + j·
     * inputScratch(), …)} holds what {@link #prepareInputs} made of input {@code x0 + j}.
     */
    void dotRows(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc);

    /** Scalar twin of {@link #dotRows}: computes everything from the definition (needs no sums). */
    void dotRowsScalar(int r, float[] x, int x0, int nx, float[] acc);

    /**
     * Dequantizes the tile {@code W[r0, r0 + nr) × [k0, k0 + kl)} into {@code dst} with row stride {@code kl}: a
     * cache-sized block for the compute-bound matrix-matrix path of prefill, reused for every input row.
     */
    void decodeTile(int r0, int nr, int k0, int kl, float[] dst);
}
