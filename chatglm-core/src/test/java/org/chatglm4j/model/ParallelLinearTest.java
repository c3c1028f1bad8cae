package org.chatglm4j.model;

import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.quant.Quantizer;
import org.chatglm4j.tensor.F32Matrix;
import org.chatglm4j.tensor.MatMul;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tensor.WeightMatrix;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The parallel linear step against one thread's {@link MatMul#multiply} over all rows: the same bits with bias and
 * epilogue, for decode-regime (prepared inputs) and tiled input counts, over a matrix whose row count ends in a
 * partial tile, at row and input offsets.
 */
class ParallelLinearTest {

    @ParameterizedTest
    @CsvSource({"f32, 1", "f32, 3", "f32, 40", "q4, 1", "q4, 5", "q4, 40", "int4, 2", "int8, 1"})
    void matchesOneThreadWithBiasAndEpilogue(String format, int n) {
        int rows = 37, cols = 96, x0 = 2, y0 = 1;
        SplittableRandom rnd = new SplittableRandom(7 + n);
        try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(2)) {
            MemorySegment seg = arena.allocate((long) rows * cols * 4, 64);
            for (long i = 0; i < (long) rows * cols; i++) seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
            WeightMatrix f32 = new F32Matrix(seg, rows, cols);
            WeightMatrix w = format.equals("f32") ? f32 : Quantizer.quantize(f32, QuantFormat.parse(format), arena);
            float[] x = new float[(x0 + n) * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] bias = new float[rows];
            for (int i = 0; i < rows; i++) bias[i] = (float) rnd.nextGaussian();

            float[] want = new float[(y0 + n) * rows];
            MatMul.multiply(w, x, x0, n, want, y0, 0, rows, new float[MatMul.scratchFloats(cols)]);
            for (int b = 0; b < n; b++) {
                for (int r = 0; r < rows; r++) {
                    int i = (y0 + b) * rows + r;
                    want[i] = 2 * (want[i] + bias[r]) + 1;
                }
            }

            int[] visits = new int[n * rows];
            float[] got = new float[(y0 + n) * rows];
            ParallelLinear linear = new ParallelLinear(pool, cols);
            linear.run(w, bias, x, x0, n, got, y0, (y, base, b, r0, r1) -> {
                assertThat(base).isEqualTo((y0 + b) * rows);
                for (int r = r0; r < r1; r++) {
                    y[base + r] = 2 * y[base + r] + 1;
                    visits[b * rows + r]++;
                }
            });
            assertThat(got).containsExactly(want);
            assertThat(visits).containsOnly(1);
        }
    }
}
