package org.chatglm4j.quant;

import org.chatglm4j.tensor.F16;
import org.chatglm4j.tensor.Int4Matrix;
import org.chatglm4j.tensor.Int8Layout;
import org.chatglm4j.tensor.Int8Matrix;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tensor.Q4Layout;
import org.chatglm4j.tensor.Q4Matrix;
import org.chatglm4j.tensor.Q8Matrix;
import org.chatglm4j.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Quantizes float weight matrices row by row into off-heap memory (an {@link Arena} the caller owns), never
 * holding a float copy of more than one row.
 *
 * <p>The reference layouts reproduce {@code QuantizedLinear} bit for bit: the weights are fp16 (a float32 or
 * bfloat16 source is rounded to fp16 first, as {@code model.half()} would), {@code scale = fp16(absmax_row / (2^(b−1)
 * − 1))} and {@code q = round_half_even(fp16(w / scale))}, both divisions done in fp16 like the reference's half
 * tensors, and the cast to int8 wraps like torch's {@code .to(torch.int8)}.
 */
public final class Quantizer {
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private Quantizer() {
    }

    /** The weights of {@code w} in {@code format}, allocated in {@code arena} ({@code w} itself for NONE). */
    public static WeightMatrix quantize(WeightMatrix w, QuantFormat format, Arena arena) {
        return quantize(w, format, arena, null);
    }

    /** As {@link #quantize(WeightMatrix, QuantFormat, Arena)}, rows split over {@code pool}'s threads (may be null). */
    public static WeightMatrix quantize(WeightMatrix w, QuantFormat format, Arena arena, Parallel pool) {
        return switch (format) {
            case NONE -> w;
            case INT8 -> referenceInt8(w, arena, pool);
            case INT4 -> referenceInt4(w, arena, pool);
            case Q8 -> groupedQ8(w, arena, pool);
            case Q4 -> groupedQ4(w, arena, pool);
        };
    }

    /** Runs {@code body} over row ranges, in parallel when a pool is given; each range gets its own scratch. */
    private static void rows(Parallel pool, int rows, Parallel.RangeTask body) {
        if (pool == null) body.run(0, rows, 0);
        else pool.forRange(rows, 64, body);
    }

    /** fp16 rounding of a float32 value, back as float. */
    static float half(float v) {
        return F16.toFloat(F16.fromFloat(v));
    }

    /** The reference's per-row scale and integer values of one row (fp16-rounded input). */
    static float referenceRow(float[] row, int cols, int bits, int[] q) {
        float absmax = 0;
        for (int c = 0; c < cols; c++) {
            row[c] = half(row[c]);
            absmax = Math.max(absmax, Math.abs(row[c]));
        }
        float scale = half(absmax / ((1 << (bits - 1)) - 1));
        for (int c = 0; c < cols; c++) {
            float v = half(row[c] / scale);           // half tensor division
            q[c] = (byte) (long) Math.rint(v);         // torch.round (half to even), .to(torch.int8) wraps
        }
        return scale;
    }

    /** The reference's {@code quantize(8)}: one scale per row, bit for bit. */
    public static Int8Matrix referenceInt8(WeightMatrix w, Arena arena) {
        return referenceInt8(w, arena, null);
    }

    /** The reference's {@code quantize(8)}, rows split over {@code pool} (null: this thread). */
    public static Int8Matrix referenceInt8(WeightMatrix w, Arena arena, Parallel pool) {
        int rows = w.rows(), cols = w.cols();
        long rowBytes = Int8Layout.rowBytes(cols);
        MemorySegment q = arena.allocate(rows * rowBytes, 64);
        float[] scales = new float[rows];
        rows(pool, rows, (r0, r1, worker) -> {
            float[] row = new float[cols];
            int[] qi = new int[cols];
            byte[] values = new byte[cols];
            byte[] packed = new byte[(int) rowBytes];
            for (int r = r0; r < r1; r++) {
                w.readRow(r, row, 0);
                scales[r] = referenceRow(row, cols, 8, qi);
                for (int c = 0; c < cols; c++) values[c] = (byte) qi[c];
                Int8Layout.packRow(values, cols, packed, q, r * rowBytes);
            }
        });
        return new Int8Matrix(q, scales, rows, cols);
    }

    /**
     * A reference INT8 tensor (row-major int8 {@code [rows, cols]}) in chatglm4j's {@link Int8Layout}, row ranges in
     * parallel when a pool is given.
     */
    public static Int8Matrix repackReferenceInt8(MemorySegment values, float[] scales, int rows, int cols, Arena arena,
                                                 Parallel pool) {
        long rowBytes = Int8Layout.rowBytes(cols);
        MemorySegment q = arena.allocate(rows * rowBytes, 64);
        rows(pool, rows, (r0, r1, worker) -> {
            byte[] row = new byte[cols];
            byte[] packed = new byte[(int) rowBytes];
            for (int r = r0; r < r1; r++) {
                MemorySegment.copy(values, ValueLayout.JAVA_BYTE, (long) r * cols, row, 0, cols);
                Int8Layout.packRow(row, cols, packed, q, r * rowBytes);
            }
        });
        return new Int8Matrix(q, scales, rows, cols);
    }

    /** The reference's {@code quantize(4)}: one scale per row, bit for bit. */
    public static Int4Matrix referenceInt4(WeightMatrix w, Arena arena) {
        return referenceInt4(w, arena, null);
    }

    /** The reference's {@code quantize(4)}, rows split over {@code pool} (null: this thread). */
    public static Int4Matrix referenceInt4(WeightMatrix w, Arena arena, Parallel pool) {
        int rows = w.rows(), cols = w.cols();
        long rowBytes = Q4Layout.rowBytes(cols);
        MemorySegment q = arena.allocate(rows * rowBytes, 64);
        float[] scales = new float[rows];
        rows(pool, rows, (r0, r1, worker) -> {
            float[] row = new float[cols];
            int[] qi = new int[cols];
            int[] words = new int[(int) (rowBytes / 4)];
            for (int r = r0; r < r1; r++) {
                w.readRow(r, row, 0);
                scales[r] = referenceRow(row, cols, 4, qi);
                // the reference keeps the low nibble of the int8 value (compress_int4_weight), as a signed 4-bit number
                for (int c = 0; c < cols; c++) qi[c] = ((qi[c] & 0xF) ^ 8) - 8;
                Q4Layout.packRow(qi, cols, words, q, r * rowBytes);
            }
        });
        return new Int4Matrix(q, scales, rows, cols);
    }

    /**
     * Converts a reference INT4 checkpoint tensor ({@code int8 [rows, cols/2]}: column 2j in the high nibble of byte
     * j, column 2j+1 in the low nibble, both two's complement) into chatglm4j's packing.
     */
    public static Int4Matrix repackReferenceInt4(MemorySegment packed, float[] scales, int rows, int cols, Arena arena,
                                                 Parallel pool) {
        if (cols % 2 != 0) throw new IllegalArgumentException("int4 rows need an even number of columns, got " + cols);
        long rowBytes = Q4Layout.rowBytes(cols);
        MemorySegment q = arena.allocate(rows * rowBytes, 64);
        rows(pool, rows, (r0, r1, worker) -> {
            int[] qi = new int[cols];
            int[] words = new int[(int) (rowBytes / 4)];
            for (int r = r0; r < r1; r++) {
                long src = (long) r * (cols / 2);
                for (int j = 0; j < cols / 2; j++) {
                    byte b = packed.get(ValueLayout.JAVA_BYTE, src + j);
                    qi[2 * j] = b >> 4;                    // arithmetic shift: the signed high nibble
                    qi[2 * j + 1] = (byte) (b << 4) >> 4;  // the signed low nibble
                }
                Q4Layout.packRow(qi, cols, words, q, r * rowBytes);
            }
        });
        return new Int4Matrix(q, scales, rows, cols);
    }

    /** Grouped INT8: per block of 32, {@code d = absmax/127} (stored fp16), {@code q = round(w/d)}. */
    public static Q8Matrix groupedQ8(WeightMatrix w, Arena arena) {
        return groupedQ8(w, arena, null);
    }

    /** Eight bits with one scale per 32 values (the size of ggml's q8_0). */
    public static Q8Matrix groupedQ8(WeightMatrix w, Arena arena, Parallel pool) {
        int rows = w.rows(), cols = w.cols(), nb = (cols + Q8Matrix.BLOCK - 1) / Q8Matrix.BLOCK;
        long rowBytes = Int8Layout.rowBytes(cols);
        MemorySegment q = arena.allocate(rows * rowBytes, 64);
        MemorySegment scales = arena.allocate(Q8Matrix.scaleBytes(rows, cols), 64);
        rows(pool, rows, (r0, r1, worker) -> {
            float[] row = new float[cols];
            byte[] values = new byte[cols];
            byte[] packed = new byte[(int) rowBytes];
            for (int r = r0; r < r1; r++) {
                w.readRow(r, row, 0);
                for (int b = 0; b < nb; b++) {
                    int k0 = b * Q8Matrix.BLOCK, k1 = Math.min(cols, k0 + Q8Matrix.BLOCK);
                    float absmax = 0;
                    for (int k = k0; k < k1; k++) absmax = Math.max(absmax, Math.abs(row[k]));
                    short dh = F16.fromFloat(absmax / 127f);
                    float d = F16.toFloat(dh);
                    scales.set(HALF, 2L * ((long) r * nb + b), dh);
                    for (int k = k0; k < k1; k++) {
                        int v = d == 0 ? 0 : (int) Math.max(-127, Math.min(127, Math.rint(row[k] / d)));
                        values[k] = (byte) v;
                    }
                }
                Int8Layout.packRow(values, cols, packed, q, r * rowBytes);
            }
        });
        return new Q8Matrix(q, scales, rows, cols);
    }

    /**
     * Grouped INT4: per block of 32, the value of largest magnitude m gives {@code d = m / −8} (stored fp16), so
     * that m maps to −8 and the 16 levels [−8, 7] are all used; {@code q = clamp(round(w/d), −8, 7)}.
     */
    public static Q4Matrix groupedQ4(WeightMatrix w, Arena arena) {
        return groupedQ4(w, arena, null);
    }

    /** Four bits with one scale per 32 values (the size of ggml's q4_0). */
    public static Q4Matrix groupedQ4(WeightMatrix w, Arena arena, Parallel pool) {
        int rows = w.rows(), cols = w.cols(), nb = (cols + Q4Matrix.BLOCK - 1) / Q4Matrix.BLOCK;
        long rowBytes = Q4Layout.rowBytes(cols);
        MemorySegment q = arena.allocate(rows * rowBytes, 64);
        MemorySegment scales = arena.allocate(2L * rows * nb, 64);
        rows(pool, rows, (r0, r1, worker) -> {
            float[] row = new float[cols];
            int[] qi = new int[cols];
            int[] words = new int[(int) (rowBytes / 4)];
            for (int r = r0; r < r1; r++) {
                w.readRow(r, row, 0);
                for (int b = 0; b < nb; b++) {
                    int k0 = b * Q4Matrix.BLOCK, k1 = Math.min(cols, k0 + Q4Matrix.BLOCK);
                    float m = 0;
                    for (int k = k0; k < k1; k++) if (Math.abs(row[k]) > Math.abs(m)) m = row[k];
                    short dh = F16.fromFloat(m / -8f);
                    float d = F16.toFloat(dh);
                    scales.set(HALF, 2L * ((long) r * nb + b), dh);
                    for (int k = k0; k < k1; k++) qi[k] = d == 0 ? 0 : (int) Math.max(-8, Math.min(7, Math.rint(row[k] / d)));
                }
                Q4Layout.packRow(qi, cols, words, q, r * rowBytes);
            }
        });
        return new Q4Matrix(q, scales, rows, cols);
    }
}
