package org.chatglm4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Small tensors for tests, and a generator of safetensors files from them (through {@link SafetensorsWriter}). */
final class TestTensors {
    private TestTensors() {
    }

    /** A tensor's type, shape and little-endian bytes. */
    record Data(DType dtype, long[] shape, byte[] bytes) {
    }

    static Data f32(long[] shape, float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return new Data(DType.F32, shape, b.array());
    }

    static Data f16(long[] shape, short... bits) {
        ByteBuffer b = ByteBuffer.allocate(bits.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : bits) b.putShort(v);
        return new Data(DType.F16, shape, b.array());
    }

    static Data i8(long[] shape, byte... values) {
        return new Data(DType.I8, shape, values.clone());
    }

    /** {@code n} bytes of a deterministic pattern, as a tensor of {@code dtype} and {@code shape}. */
    static Data pattern(DType dtype, long[] shape, int seed) {
        long n = dtype.bytes();
        for (long d : shape) n *= d;
        byte[] bytes = new byte[Math.toIntExact(n)];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i * 31 + seed * 7 + (i >>> 8));
        return new Data(dtype, shape, bytes);
    }

    /** Writes {@code tensors} (in map order) as a safetensors file. */
    static Path writeSafetensors(Path file, Map<String, Data> tensors) {
        List<SafetensorsWriter.Entry> layout = new ArrayList<>();
        tensors.forEach((name, d) -> layout.add(new SafetensorsWriter.Entry(name, d.dtype(), d.shape())));
        try (SafetensorsWriter w = SafetensorsWriter.create(file, layout, Map.of("format", "pt"))) {
            tensors.forEach((name, d) -> w.writeTensor(name, MemorySegment.ofArray(d.bytes())));
        }
        return file;
    }

    /** A safetensors file with the header given verbatim (any JSON, valid or not) and the data region given. */
    static Path rawSafetensors(Path file, String header, byte[] data) {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json).put(data);
        return write(file, b.array());
    }

    static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] bytes(MemorySegment segment) {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }
}
