package org.chatglm4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.ChatGlmException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Reads a safetensors file: u64 little-endian header length N, N bytes of JSON header, then the data region that
 * the header's {@code data_offsets} index (relative to the end of the header). Everything in the header is
 * validated before a tensor is handed out: offsets inside the data region, sizes equal to numel·itemsize, no
 * overlaps and, as the format requires, no holes.
 */
final class SafetensorsReader {
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private SafetensorsReader() {
    }

    private record Placed(String name, DType dtype, long[] shape, long begin, long end) {
    }

    /** The tensors of {@code file} (mapped whole as {@code bytes}), in the order of the JSON header. */
    static List<TensorRef> read(Path file, MemorySegment bytes, CheckpointLimits limits) {
        long size = bytes.byteSize();
        if (size < 8) {
            throw new ChatGlmException(file + ": " + size + " bytes is too short for a safetensors file");
        }
        long headerLength = bytes.get(U64, 0);
        if (headerLength < 0 || headerLength > size - 8) {
            throw new ChatGlmException(file + ": safetensors header length " + Long.toUnsignedString(headerLength)
                    + " is larger than the file (" + size + " bytes)");
        }
        if (headerLength > limits.maxJsonHeaderBytes()) {
            throw new ChatGlmException(file + ": safetensors header of " + headerLength + " bytes exceeds the limit of "
                    + limits.maxJsonHeaderBytes() + " bytes");
        }
        JsonNode header = JsonFiles.parse(file + ": safetensors header",
                bytes.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE));
        if (!header.isObject()) throw new ChatGlmException(file + ": safetensors header is not a JSON object");

        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;
        List<Placed> placed = new ArrayList<>();
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            String name = field.getKey();
            JsonNode info = field.getValue();
            if (name.equals("__metadata__")) {
                if (!info.isObject()) throw new ChatGlmException(file + ": safetensors __metadata__ is not an object");
                continue;
            }
            placed.add(place(file, name, info, dataSize));
        }

        List<Placed> byOffset = new ArrayList<>(placed);
        byOffset.sort(Comparator.comparingLong(Placed::begin).thenComparingLong(Placed::end));
        long expected = 0;
        Placed previous = null;
        for (Placed p : byOffset) {
            if (p.begin() < expected) {
                throw new ChatGlmException(file + ": tensors '" + previous.name() + "' " + range(previous) + " and '"
                        + p.name() + "' " + range(p) + " overlap");
            }
            if (p.begin() > expected) {
                throw new ChatGlmException(file + ": bytes [" + expected + ", " + p.begin() + ") of the data region "
                        + "belong to no tensor (safetensors allows no holes)");
            }
            expected = p.end();
            previous = p;
        }
        if (expected != dataSize) {
            throw new ChatGlmException(file + ": tensors cover " + expected + " bytes but the data region holds "
                    + dataSize + " bytes");
        }

        List<TensorRef> tensors = new ArrayList<>(placed.size());
        for (Placed p : placed) {
            tensors.add(new TensorRef(p.name(), p.dtype(), p.shape(),
                    bytes.asSlice(dataStart + p.begin(), p.end() - p.begin()), file));
        }
        return tensors;
    }

    private static Placed place(Path file, String name, JsonNode info, long dataSize) {
        String what = file + ": tensor '" + JsonFiles.oneLine(name) + "'";
        if (!info.isObject()) throw new ChatGlmException(what + " is not described by a JSON object");
        JsonNode dtypeNode = info.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw new ChatGlmException(what + " has no dtype string");
        DType dtype;
        try {
            dtype = DType.fromSafetensors(dtypeNode.textValue());
        } catch (IllegalArgumentException unknown) {
            throw new ChatGlmException(what + " has unknown dtype '" + JsonFiles.oneLine(dtypeNode.textValue()) + "'");
        }
        long[] shape = naturals(what, "shape", info.get("shape"), -1);
        long[] offsets = naturals(what, "data_offsets", info.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end || end > dataSize) {
            throw new ChatGlmException(what + " has data_offsets [" + begin + ", " + end
                    + "] outside the data region of " + dataSize + " bytes");
        }
        long bytes;
        try {
            bytes = dtype.bytes();
            for (long d : shape) bytes = Math.multiplyExact(bytes, d);
        } catch (ArithmeticException overflow) {
            throw new ChatGlmException(what + " has a shape too large: " + Arrays.toString(shape));
        }
        if (end - begin != bytes) {
            throw new ChatGlmException(what + " of " + dtype.lowerName() + Arrays.toString(shape) + " needs " + bytes
                    + " bytes but data_offsets [" + begin + ", " + end + "] hold " + (end - begin));
        }
        return new Placed(name, dtype, shape, begin, end);
    }

    /** A JSON array of non-negative integers ({@code length} of them unless negative). */
    private static long[] naturals(String what, String field, JsonNode node, int length) {
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new ChatGlmException(what + " has no valid " + field
                    + (length >= 0 ? " (expected " + length + " integers)" : " (expected an array of integers)"));
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = node.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                throw new ChatGlmException(what + " has an invalid " + field + " value '" + JsonFiles.oneLine(v.toString())
                        + "' (expected non-negative integers)");
            }
            out[i] = v.longValue();
        }
        return out;
    }

    private static String range(Placed p) {
        return "[" + p.begin() + ", " + p.end() + "]";
    }
}
