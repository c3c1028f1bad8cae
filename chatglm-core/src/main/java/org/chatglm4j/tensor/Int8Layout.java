package org.chatglm4j.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * How chatglm4j stores 8-bit weights of the reference layout: rows are cut into units of 32 values in 32 bytes,
 * read as eight little-endian 32-bit lanes; value {@code e} of a unit sits in lane {@code e % 8}, byte
 * {@code e / 8}, as the unsigned byte {@code u = q + 128} of a signed value {@code q ∈ [-128, 127]}. Masking byte
 * k of all eight lanes in place then gives eight consecutive values times {@code 256^k}, which convert exactly to
 * float: one mask and one conversion per eight weights, where sign-extending bytes costs a load, a widening and a
 * conversion. A row's last unit may be partial (its unused bytes are zero).
 */
public final class Int8Layout {
    /** Values per unit (a unit is also one quantization block of {@link Q8Matrix}). */
    public static final int UNIT = 32;
    /** Bytes per unit: one byte per value. */
    public static final int UNIT_BYTES = 32;

    private Int8Layout() {
    }

    /** Bytes of a packed row of {@code cols} values, rounded up to whole units. */
    public static long rowBytes(int cols) {
        return (long) ((cols + UNIT - 1) / UNIT) * UNIT_BYTES;
    }

    /** Byte offset of value {@code e} within its row. */
    static long offset(int e) {
        int i = e % UNIT;
        return (long) (e / UNIT) * UNIT_BYTES + 4L * (i % 8) + i / 8;
    }

    /** The signed value {@code q} of value {@code e} of the row starting at byte {@code rowBase}. */
    public static int get(MemorySegment seg, long rowBase, int e) {
        return (seg.get(ValueLayout.JAVA_BYTE, rowBase + offset(e)) & 0xFF) - 128;
    }

    /** Stores the signed values {@code q[0, cols)} as the row at {@code rowBase}; {@code bytes} is scratch of rowBytes. */
    public static void packRow(byte[] q, int cols, byte[] bytes, MemorySegment seg, long rowBase) {
        int n = (int) rowBytes(cols);
        java.util.Arrays.fill(bytes, 0, n, (byte) 0);
        for (int e = 0; e < cols; e++) bytes[(int) offset(e)] = (byte) (q[e] ^ 0x80);
        MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, rowBase, n);
    }
}
