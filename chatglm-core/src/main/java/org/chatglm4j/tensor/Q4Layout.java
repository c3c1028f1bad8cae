package org.chatglm4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * How chatglm4j packs 4-bit weights: rows are cut into units of 64 values stored in 32 bytes, read as eight
 * little-endian 32-bit lanes; value {@code e} of a unit sits in lane {@code e % 8}, nibble {@code e / 8}. Shifting
 * all eight lanes by the same amount then yields eight consecutive values, so a 256-bit kernel unpacks a unit with
 * one load and eight shift-and-mask steps, against inputs read in their natural order. A nibble holds
 * {@code u = q + 8} for a signed 4-bit value {@code q ∈ [-8, 7]}. A row's last unit may be partial (its unused
 * nibbles are zero).
 */
public final class Q4Layout {
    /** Values per unit. */
    public static final int UNIT = 64;
    /** Bytes per unit: eight 32-bit lanes of eight nibbles. */
    public static final int UNIT_BYTES = 32;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(F16.LE);

    private Q4Layout() {
    }

    /** Bytes of a packed row of {@code cols} values, rounded up to whole units. */
    public static long rowBytes(int cols) {
        return (long) ((cols + UNIT - 1) / UNIT) * UNIT_BYTES;
    }

    /** The stored nibble {@code u = q + 8} of value {@code e} of a row starting at byte {@code rowBase}. */
    public static int get(MemorySegment seg, long rowBase, int e) {
        int i = e % UNIT;
        int word = seg.get(INT, rowBase + (long) (e / UNIT) * UNIT_BYTES + 4L * (i % 8));
        return (word >>> (4 * (i / 8))) & 0xF;
    }

    /** Packs a row of signed values {@code q[0, cols)} ∈ [-8, 7] into {@code rowBytes(cols)} bytes at {@code rowBase}. */
    public static void packRow(int[] q, int cols, int[] words, MemorySegment seg, long rowBase) {
        int n = (int) (rowBytes(cols) / 4);
        java.util.Arrays.fill(words, 0, n, 0);
        for (int e = 0; e < cols; e++) {
            int v = q[e];
            if (v < -8 || v > 7) throw new IllegalArgumentException("4-bit value out of range: " + v);
            int i = e % UNIT;
            words[(e / UNIT) * 8 + i % 8] |= (v + 8) << (4 * (i / 8));
        }
        MemorySegment.copy(words, 0, seg, INT, rowBase, n);
    }

    /** Stores signed value {@code q ∈ [-8, 7]} as value {@code e} of the row at {@code rowBase}. */
    public static void set(MemorySegment seg, long rowBase, int e, int q) {
        if (q < -8 || q > 7) throw new IllegalArgumentException("4-bit value out of range: " + q);
        int i = e % UNIT;
        long at = rowBase + (long) (e / UNIT) * UNIT_BYTES + 4L * (i % 8);
        int shift = 4 * (i / 8);
        int word = seg.get(INT, at);
        seg.set(INT, at, (word & ~(0xF << shift)) | ((q + 8) << shift));
    }
}
