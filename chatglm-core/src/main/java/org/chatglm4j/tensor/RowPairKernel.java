package org.chatglm4j.tensor;

/**
 * A weight format with a register-tiled kernel for batched decode: two rows × up to four inputs per call, each
 * unpacked weight used by four inputs and each input load by two rows ({@link QuantKernels#q4Dot2x4}). {@link
 * MatMul} uses it for 2 to 35 inputs where 512-bit vectors are native, when {@code -Dchatglm.rowPairs=true}.
 */
sealed interface RowPairKernel permits Int4Matrix, Q4Matrix {

    /**
     * {@link WeightMatrix#dotRows} for rows {@code r} and {@code r + 1} at once: {@code acc[4·i + j] = W[r + i]·x[x0
     * + j]} for {@code i < 2}, {@code j < nx} (1 to 4), with inputs prepared by {@link WeightMatrix#prepareInputs}.
     */
    void dotRowPair(int r, float[] x, int x0, int nx, float[] aux, int auxOff, float[] acc);
}
