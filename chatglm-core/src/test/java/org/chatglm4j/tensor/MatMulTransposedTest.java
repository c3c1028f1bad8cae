package org.chatglm4j.tensor;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The transposed product of the backward pass against its scalar twin, every format, blocks split as workers do. */
class MatMulTransposedTest {

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("org.chatglm4j.tensor.KernelTwinTest#cases")
    void transposedProductMatchesScalarTwin(String format, int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(rows * 31L + cols);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = KernelTwinTest.matrix(format, rows, cols, rnd, arena);
            for (int n : new int[]{1, 3, 4, 7, 9}) {
                float[] dy = new float[n * rows];
                for (int i = 0; i < dy.length; i++) dy[i] = i % 5 == 0 ? 0f : (float) rnd.nextGaussian();
                float[] dx = new float[n * cols], want = new float[n * cols];
                for (int i = 0; i < dx.length; i++) dx[i] = want[i] = (float) rnd.nextGaussian();   // it accumulates
                int blocks = MatMul.transposedBlocks(w), mid = blocks / 2;
                float[] scratch = new float[MatMul.transposedScratchFloats()];
                MatMul.multiplyTransposed(w, dy, n, dx, 0, mid, scratch);
                MatMul.multiplyTransposed(w, dy, n, dx, mid, blocks, scratch);
                MatMul.multiplyTransposedScalar(w, dy, n, want);
                for (int i = 0; i < dx.length; i++) {
                    assertThat(dx[i]).as("n=%d element %d", n, i)
                            .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-4f * (1 + (float) Math.sqrt(rows))));
                }
            }
        }
    }
}
