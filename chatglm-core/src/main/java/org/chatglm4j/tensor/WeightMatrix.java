package org.chatglm4j.tensor;

/**
 * A weight matrix {@code W[rows, cols]} in PyTorch's Linear layout ({@code [out_features, in_features]}, used as
 * {@code y = x·Wᵀ}), stored in one format. Each format fuses its dequantization into the dot products: weights are
 * never expanded to a float32 copy of the matrix.
 *
 * <p>Every vector kernel has a plain scalar twin (the {@code *Scalar} methods) that the tests compare against.
 */
public sealed interface WeightMatrix permits F32Matrix, F16Matrix, BF16Matrix, Int8Matrix, Int4Matrix, Q8Matrix, Q4Matrix {

    int rows();

    int cols();

    /** Short name of the storage format ("f16", "int4", ...). */
    String format();

    /** Bytes of weight data read by one full pass over the matrix. */
    long byteSize();

    /** Row {@code r} dequantized to float32 into {@code out[off, off + cols)} (embedding lookup). */
    void readRow(int r, float[] out, int off);

    /** Whether {@link #dotRows} needs the inputs' sums over blocks of {@link #SUM_BLOCK} (quantized formats). */
    default boolean needsBlockSums() {
        return false;
    }

    /** Elements per block of the input sums that quantized formats use to apply their zero point. */
    int SUM_BLOCK = 32;

    /** Number of {@link #SUM_BLOCK}-element blocks of a row. */
    default int sumBlocks() {
        return (cols() + SUM_BLOCK - 1) / SUM_BLOCK;
    }

    /**
     * Fused dequantize-and-dot of row {@code r} with {@code nx} (1 to 4) consecutive rows of {@code x}:
     * {@code acc[j] = W[r]·x[(x0 + j)·cols, …)} for {@code j < nx}. Vector kernel: the weight row is read once for
     * all {@code nx} inputs, which is what decode (one token per sequence) needs. When {@link #needsBlockSums()},
     * {@code sums[sumsOff + j·sumBlocks() + b]} holds the sum of input j over block b (see {@link MatMul}).
     */
    void dotRows(int r, float[] x, int x0, int nx, float[] sums, int sumsOff, float[] acc);

    /** Scalar twin of {@link #dotRows}: computes everything from the definition (needs no sums). */
    void dotRowsScalar(int r, float[] x, int x0, int nx, float[] acc);

    /**
     * Dequantizes the tile {@code W[r0, r0 + nr) × [k0, k0 + kl)} into {@code dst} with row stride {@code kl}: a
     * cache-sized block for the compute-bound matrix-matrix path of prefill, reused for every input row.
     */
    void decodeTile(int r0, int nr, int k0, int kl, float[] dst);
}
