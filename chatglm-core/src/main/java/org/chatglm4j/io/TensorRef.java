package org.chatglm4j.io;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A tensor as it lies in a checkpoint file: its element type, its shape (row-major, contiguous) and a slice of the
 * memory-mapped file holding its little-endian bytes. Nothing is copied onto the heap.
 *
 * @param file where the bytes live, for error messages
 */
public record TensorRef(String name, DType dtype, long[] shape, MemorySegment data, Path file) {

    /** Checks that the dimensions are non-negative and that {@code data} holds exactly the bytes the shape needs. */
    public TensorRef {
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException(name + ": negative dimension in " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        if (data.byteSize() != n * dtype.bytes()) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for shape "
                    + Arrays.toString(shape) + " of " + dtype.lowerName());
        }
    }

    /** Number of elements, the product of the shape (1 for a scalar). */
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Number of dimensions (0 for a scalar). */
    public int rank() {
        return shape.length;
    }

    /** The shape as {@code [d0, d1, ...]}, for messages. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype.lowerName() + shapeString() + " in " + file.getFileName();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorRef t && name.equals(t.name) && dtype == t.dtype
                && Arrays.equals(shape, t.shape) && data.equals(t.data);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }
}
