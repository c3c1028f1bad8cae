package org.chatglm4j.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every vector kernel against its scalar twin, on random data of awkward sizes (odd lengths, vector tails). */
class KernelTwinTest {

    static WeightMatrix randomMatrix(String format, int rows, int cols, SplittableRandom rnd, Arena arena) {
        int elem = format.equals("f32") ? 4 : 2;
        MemorySegment seg = arena.allocate((long) rows * cols * elem, 64);
        for (long i = 0; i < (long) rows * cols; i++) {
            float v = (float) rnd.nextGaussian();
            switch (format) {
                case "f32" -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                case "f16" -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, F16.fromFloat(v));
                case "bf16" -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, F16.floatToBf16(v));
                default -> throw new IllegalArgumentException(format);
            }
        }
        return switch (format) {
            case "f32" -> new F32Matrix(seg, rows, cols);
            case "f16" -> new F16Matrix(seg, rows, cols);
            default -> new BF16Matrix(seg, rows, cols);
        };
    }

    /** The grouped formats twice: with float activations and with int8 activations ({@link IntKernels}). */
    static final List<String> FORMATS = List.of("f32", "f16", "bf16", "int8", "int4", "q8/float", "q4/float",
            "q8/int8", "q4/int8");

    /**
     * A random matrix in any format ({@code format/activations} for the grouped ones): the quantized ones are
     * quantized from a random f32 matrix.
     */
    static WeightMatrix matrix(String format, int rows, int cols, SplittableRandom rnd, Arena arena) {
        if (List.of("f32", "f16", "bf16").contains(format)) return randomMatrix(format, rows, cols, rnd, arena);
        String[] parts = format.split("/");
        WeightMatrix f = randomMatrix("f32", rows, cols, rnd, arena);
        WeightMatrix w = org.chatglm4j.quant.Quantizer.quantize(f, org.chatglm4j.quant.QuantFormat.parse(parts[0]), arena);
        if (parts.length == 1) return w;
        Activations a = Activations.parse(parts[1]);
        return w instanceof Q4Matrix m ? m.withActivations(a) : ((Q8Matrix) w).withActivations(a);
    }

    /** The matrix with float activations: the exact conversions and the tiled (prefill) regime use those. */
    static WeightMatrix floatActivations(WeightMatrix w) {
        if (w instanceof Q4Matrix m) return m.withActivations(Activations.FLOAT);
        if (w instanceof Q8Matrix m) return m.withActivations(Activations.FLOAT);
        return w;
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {{1, 2}, {3, 8}, {5, 16}, {9, 30}, {13, 32}, {7, 34}, {17, 64}, {6, 96}, {11, 160}, {4, 258}, {3, 520}};
        for (String f : FORMATS) {
            for (int[] s : shapes) out.add(Arguments.of(f, s[0], s[1]));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("cases")
    void dotRowsReadRowAndTilesMatchScalarTwins(String format, int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(rows * 1000L + cols);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = matrix(format, rows, cols, rnd, arena);
            float[] x = new float[4 * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] vec = new float[4], sca = new float[4];
            float[] sums = new float[4 * w.inputScratch() + 1];
            w.prepareInputs(x, 0, 4, sums, 0);
            for (int r = 0; r < rows; r++) {
                for (int nx = 1; nx <= 4; nx++) {
                    w.dotRows(r, x, 0, nx, sums, 0, vec);
                    w.dotRowsScalar(r, x, 0, nx, sca);
                    for (int j = 0; j < nx; j++) {
                        assertThat(vec[j]).as("row %d input %d of %d", r, j, nx)
                                .isCloseTo(sca[j], org.assertj.core.data.Offset.offset(1e-4f * (1 + (float) Math.sqrt(cols))));
                    }
                }
            }
            // readRow and decodeTile are exact conversions
            float[] row = new float[cols];
            float[] tile = new float[2 * cols];
            for (int r = 0; r + 1 < rows; r++) {
                w.readRow(r, row, 0);
                w.decodeTile(r, 2, 0, cols, tile);
                for (int c = 0; c < cols; c++) {
                    float[] one = new float[1];
                    float[] unit = new float[cols];
                    unit[c] = 1;
                    floatActivations(w).dotRowsScalar(r, unit, 0, 1, one);
                    assertThat(row[c]).isEqualTo(one[0]);
                    assertThat(tile[c]).isEqualTo(one[0]);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("cases")
    void matMulBothRegimesMatchScalar(String format, int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(rows * 7L + cols);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = matrix(format, rows, cols, rnd, arena);
            for (int n : new int[]{1, 3, 4, 5, 11, 20, MatMul.TILED_MIN_INPUTS, MatMul.TILED_MIN_INPUTS + 5}) {
                int x0 = 2, y0 = 1;
                float[] x = new float[(x0 + n) * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                float[] y = new float[(y0 + n) * rows], want = new float[(y0 + n) * rows];
                // split the rows in two ranges like two workers would
                int mid = rows / 2;
                float[] scratch = new float[MatMul.scratchFloats(cols)];
                MatMul.multiply(w, x, x0, n, y, y0, 0, mid, scratch);
                MatMul.multiply(w, x, x0, n, y, y0, mid, rows, scratch);
                MatMul.multiplyScalar(MatMul.decodeRegime(n) ? MatMul.effective(w, n) : floatActivations(w), x, x0, n, want, y0, 0, rows);
                for (int i = 0; i < y.length; i++) {
                    assertThat(y[i]).as("n=%d element %d", n, i)
                            .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-4f * (1 + (float) Math.sqrt(cols))));
                }
            }
        }
    }

    @Test
    void halfConversionVectorPathCoversEveryHalf() {
        // all 65536 halves: zero, subnormals, normals, infinities and NaNs, through the vector conversion
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(65536 * 2L);
            for (int i = 0; i < 65536; i++) seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) i);
            float[] out = new float[65536];
            new F16Matrix(seg, 1, 65536).readRow(0, out, 0);
            for (int i = 0; i < 65536; i++) {
                float want = Float.float16ToFloat((short) i);
                if (Float.isNaN(want)) assertThat(out[i]).as("half %04x", i).isNaN();
                else assertThat(Float.floatToRawIntBits(out[i])).as("half %04x", i).isEqualTo(Float.floatToRawIntBits(want));
            }
            new BF16Matrix(seg, 1, 65536).readRow(0, out, 0);
            for (int i = 0; i < 65536; i++) {
                assertThat(Float.floatToRawIntBits(out[i])).isEqualTo(i << 16);
            }
        }
    }

    static Stream<Arguments> rowPairCases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {{2, 8}, {3, 64}, {5, 96}, {7, 130}, {4, 200}, {5, 258}, {3, 520}, {3, 1000}};
        for (String f : List.of("int4", "q4/float")) {
            for (int[] s : shapes) out.add(Arguments.of(f, s[0], s[1]));
        }
        return out.stream();
    }

    /** The two-row batch kernels ({@link RowPairKernel}) against the scalar twin, whatever this CPU would use. */
    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("rowPairCases")
    void rowPairKernelsMatchScalarTwins(String format, int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(rows * 31L + cols);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = matrix(format, rows, cols, rnd, arena);
            int x0 = 1;
            float[] x = new float[(x0 + 4) * cols];
            for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
            float[] aux = new float[4 * w.inputScratch() + 3];
            w.prepareInputs(x, x0, 4, aux, 3);
            float[] acc = new float[8], want = new float[4];
            for (int r = 0; r + 1 < rows; r++) {
                for (int nx = 1; nx <= 4; nx++) {
                    ((RowPairKernel) w).dotRowPair(r, x, x0, nx, aux, 3, acc);
                    for (int i = 0; i < 2; i++) {
                        w.dotRowsScalar(r + i, x, x0, nx, want);
                        for (int j = 0; j < nx; j++) {
                            assertThat(acc[4 * i + j]).as("row %d input %d of %d", r + i, j, nx)
                                    .isCloseTo(want[j], org.assertj.core.data.Offset.offset(1e-4f * (1 + (float) Math.sqrt(cols))));
                        }
                    }
                }
            }
        }
    }

    static Stream<Arguments> batchCases() {
        List<Arguments> out = new ArrayList<>();
        for (String f : List.of("int4", "q4/int8", "q4/float", "q8/int8", "f16")) {
            for (int[] s : new int[][]{{7, 64}, {13, 200}, {5, 520}}) out.add(Arguments.of(f, s[0], s[1]));
        }
        return out.stream();
    }

    /**
     * Batched decode, 1 to 16 inputs, odd row counts split between two workers, both entry points (inputs prepared
     * once, or by the call): against the scalar twin of the matrix the batch runs on ({@link MatMul#effective}).
     */
    @ParameterizedTest(name = "{0} {1}x{2}")
    @MethodSource("batchCases")
    void batchedDecodeMatchesScalarForOneToSixteenInputs(String format, int rows, int cols) {
        SplittableRandom rnd = new SplittableRandom(rows * 131L + cols);
        try (Arena arena = Arena.ofConfined()) {
            WeightMatrix w = matrix(format, rows, cols, rnd, arena);
            float[] scratch = new float[MatMul.scratchFloats(cols)];
            for (int n = 1; n <= 16; n++) {
                int x0 = 1, y0 = 2, mid = rows / 2 + 1;
                float[] x = new float[(x0 + n) * cols];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                float[] want = new float[(y0 + n) * rows], y = new float[want.length], z = new float[want.length];
                MatMul.multiplyScalar(MatMul.effective(w, n), x, x0, n, want, y0, 0, rows);
                float[] prepared = new float[MatMul.preparedFloats(w, n)];
                MatMul.prepare(w, x, x0, n, prepared);
                MatMul.multiply(w, x, x0, n, y, y0, 0, mid, prepared, scratch);
                MatMul.multiply(w, x, x0, n, y, y0, mid, rows, prepared, scratch);
                MatMul.multiply(w, x, x0, n, z, y0, 0, mid, scratch);
                MatMul.multiply(w, x, x0, n, z, y0, mid, rows, scratch);
                for (int i = y0 * rows; i < want.length; i++) {
                    org.assertj.core.data.Offset<Float> tol = org.assertj.core.data.Offset.offset(1e-4f * (1 + (float) Math.sqrt(cols)));
                    assertThat(y[i]).as("n=%d element %d, prepared once", n, i).isCloseTo(want[i], tol);
                    assertThat(z[i]).as("n=%d element %d, prepared by the call", n, i).isCloseTo(want[i], tol);
                }
            }
        }
    }
}
