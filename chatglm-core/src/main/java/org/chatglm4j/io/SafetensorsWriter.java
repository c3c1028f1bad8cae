package org.chatglm4j.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a safetensors file tensor by tensor through a {@link FileChannel}, never holding more than the caller's
 * current chunk in memory, so that multi-GB checkpoints can be generated. The layout (names, dtypes, shapes) is
 * fixed up front because the header, which comes first, records every tensor's offsets; the data then follows in
 * layout order, with no padding between tensors (list tensors of larger element size first if the reader should
 * get naturally aligned slices). The header is padded with spaces to a multiple of 8 bytes, like the reference
 * writer does.
 *
 * <pre>{@code
 * try (var w = SafetensorsWriter.create(file, layout, Map.of("format", "pt"))) {
 *     w.writeTensor("a", segmentOfA);          // a whole tensor, or
 *     w.append(chunk1); w.append(chunk2);      // the next bytes of the data region, in any chunk sizes
 * }
 * }</pre>
 *
 * If {@link #close()} finds the data incomplete it deletes the file and throws: no truncated checkpoint is left.
 */
public final class SafetensorsWriter implements AutoCloseable {

    /** One tensor of the layout. Data is little-endian, row-major. */
    public record Entry(String name, DType dtype, long[] shape) {
        /** Copies {@code shape} (the record owns its array) and rejects an empty or reserved name. */
        public Entry {
            shape = shape.clone();
            if (name.isEmpty() || name.equals("__metadata__")) {
                throw new IllegalArgumentException("bad tensor name '" + name + "'");
            }
        }

        /** Bytes this tensor takes in the data region; throws on a negative dimension or an overflowing size. */
        public long byteSize() {
            long n = dtype.bytes();
            for (long d : shape) {
                if (d < 0) throw new IllegalArgumentException(name + ": negative dimension " + Arrays.toString(shape));
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final List<Entry> layout;
    private final long[] begins;
    private final Map<String, Integer> indexOf = new HashMap<>();
    private final long dataStart;
    private final long dataSize;
    private long written;
    private boolean closed;
    private ByteBuffer staging;

    private static final int STAGING_BYTES = 1 << 20;

    private SafetensorsWriter(Path file, FileChannel channel, List<Entry> layout, long[] begins, long dataStart,
                              long dataSize) {
        this.file = file;
        this.channel = channel;
        this.layout = layout;
        this.begins = begins;
        this.dataStart = dataStart;
        this.dataSize = dataSize;
        for (int i = 0; i < layout.size(); i++) indexOf.put(layout.get(i).name(), i);
    }

    /**
     * Creates (or replaces) {@code file} and writes its header.
     *
     * @param metadata the {@code __metadata__} string map (for example {@code "format": "pt"}); may be empty
     */
    public static SafetensorsWriter create(Path file, List<Entry> layout, Map<String, String> metadata) {
        List<Entry> entries = List.copyOf(layout);
        ObjectNode header = JsonFiles.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long[] begins = new long[entries.size()];
        long offset = 0;
        Set<String> names = new HashSet<>();
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (!names.add(e.name())) throw new IllegalArgumentException("tensor '" + e.name() + "' twice in the layout");
            ObjectNode info = header.putObject(e.name());
            info.put("dtype", e.dtype().name());
            ArrayNode shape = info.putArray("shape");
            for (long d : e.shape()) shape.add(d);
            begins[i] = offset;
            offset = Math.addExact(offset, e.byteSize());
            info.putArray("data_offsets").add(begins[i]).add(offset);
        }
        byte[] json;
        try {
            json = JsonFiles.MAPPER.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) & ~7;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        FileChannel channel = null;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE);
            while (head.hasRemaining()) channel.write(head);
            return new SafetensorsWriter(file, channel, entries, begins, 8L + padded, offset);
        } catch (IOException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw new ChatGlmException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /**
     * Writes all the bytes of tensor {@code name}, which must be the next one of the layout.
     *
     * @throws IllegalStateException    if the data is not at the start of that tensor
     * @throws IllegalArgumentException if {@code data} is not exactly the tensor's size
     */
    public void writeTensor(String name, MemorySegment data) {
        Integer i = indexOf.get(name);
        if (i == null) throw new IllegalArgumentException(file + ": no tensor '" + name + "' in the layout");
        if (begins[i] != written || (written == dataSize && data.byteSize() > 0)) {
            throw new IllegalStateException(file + ": '" + name + "' is not the next tensor of the layout ("
                    + written + " data bytes written, it starts at " + begins[i] + ")");
        }
        long size = layout.get(i).byteSize();
        if (data.byteSize() != size) {
            throw new IllegalArgumentException(file + ": tensor '" + name + "' needs " + size + " bytes, got "
                    + data.byteSize());
        }
        append(data);
    }

    /** Writes the next {@code chunk.byteSize()} bytes of the data region (tensors back to back, layout order). */
    public void append(MemorySegment chunk) {
        if (closed) throw new IllegalStateException(file + ": writer is closed");
        if (chunk.byteSize() > dataSize - written) {
            throw new IllegalArgumentException(file + ": " + chunk.byteSize() + " bytes given but only "
                    + (dataSize - written) + " remain in the layout");
        }
        try {
            // Pieces of at most 1 GiB: a ByteBuffer view is limited to 2 GiB.
            for (long off = 0; off < chunk.byteSize(); off += 1L << 30) {
                MemorySegment piece = chunk.asSlice(off, Math.min(1L << 30, chunk.byteSize() - off));
                if (piece.isNative() || piece.heapBase().orElse(null) instanceof byte[]) {
                    writeFully(piece.asByteBuffer());
                } else {
                    // A heap segment over a short[], float[]... has no ByteBuffer view: copy through a staging buffer.
                    if (staging == null) staging = ByteBuffer.allocateDirect(STAGING_BYTES);
                    // ofBuffer views the remaining bytes only: clear first
                    MemorySegment stage = MemorySegment.ofBuffer(staging.clear());
                    for (long p = 0; p < piece.byteSize(); p += STAGING_BYTES) {
                        long n = Math.min(STAGING_BYTES, piece.byteSize() - p);
                        MemorySegment.copy(piece, p, stage, 0, n);
                        writeFully(staging.clear().limit((int) n));
                    }
                }
            }
        } catch (IOException e) {
            throw new ChatGlmException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    private void writeFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            written += channel.write(buffer, dataStart + written);
        }
    }

    /** Bytes of the data region still to write. */
    public long remaining() {
        return dataSize - written;
    }

    /**
     * Closes the file.
     *
     * @throws ChatGlmException if the layout's data was not all written (the partial file is then deleted)
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            throw new ChatGlmException(file + ": cannot write: " + e.getMessage(), e);
        }
        if (written != dataSize) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // the exception below is the news; a leftover partial file is secondary
            }
            throw new ChatGlmException(file + ": incomplete safetensors file deleted: " + written + " of " + dataSize
                    + " data bytes were written");
        }
    }
}
