package org.chatglm4j.io;

import org.chatglm4j.ChatGlmException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** SafetensorsWriter output reads back exactly; every malformed header is refused with a message naming the file. */
class SafetensorsTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    private static void assertOpenFails(Path file, CheckpointLimits limits, String expected) {
        assertThatThrownBy(() -> Checkpoint.open(file, limits).close())
                .isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith(file.toString())
                .hasMessageContaining(expected)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    private static void assertOpenFails(Path file, String expected) {
        assertOpenFails(file, CheckpointLimits.DEFAULT, expected);
    }

    private Path raw(String header, int dataBytes) {
        return TestTensors.rawSafetensors(dir.resolve("model.safetensors"), header, new byte[dataBytes]);
    }

    @Test
    void writtenTensorsReadBackInHeaderOrder() throws IOException {
        Map<String, TestTensors.Data> tensors = new LinkedHashMap<>();
        tensors.put("emb", TestTensors.f32(new long[]{2, 3}, 1f, 2f, 3f, -4f, 5.5f, 1e-3f));
        tensors.put("half", TestTensors.f16(new long[]{3}, (short) 0x3c00, (short) 0xc000, (short) 0x7bff));
        tensors.put("bf", TestTensors.pattern(DType.BF16, new long[]{5, 1}, 1));
        tensors.put("q", TestTensors.i8(new long[]{2, 2}, (byte) -8, (byte) 7, (byte) 0, (byte) -128));
        tensors.put("empty", TestTensors.pattern(DType.F32, new long[]{0, 4}, 2));
        tensors.put("scalar", TestTensors.f32(new long[]{}, 0.25f));
        Path file = TestTensors.writeSafetensors(dir.resolve("model.safetensors"), tensors);

        byte[] bytes = Files.readAllBytes(file);
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(headerLength % 8).isZero();
        assertThat(new String(bytes, 8, (int) headerLength)).startsWith("{\"__metadata__\":{\"format\":\"pt\"}");

        try (Checkpoint c = Checkpoint.open(dir)) {
            assertThat(c.format()).isEqualTo(Checkpoint.SAFETENSORS);
            assertThat(c.files()).containsExactly(file);
            assertThat(c.tensors().keySet()).containsExactlyElementsOf(tensors.keySet());
            tensors.forEach((name, d) -> {
                TensorRef t = c.get(name);
                assertThat(t.dtype()).as(name).isEqualTo(d.dtype());
                assertThat(t.shape()).as(name).isEqualTo(d.shape());
                assertThat(TestTensors.bytes(t.data())).as(name).isEqualTo(d.bytes());
            });
            assertThat(c.get("emb").data().get(F32, 16)).isEqualTo(5.5f);
            assertThat(c.totalBytes()).isEqualTo(bytes.length - 8 - headerLength);
        }
    }

    @Test
    void fileIsRecognisedByContentWhateverItsName() {
        Path file = TestTensors.writeSafetensors(dir.resolve("weights.data"),
                Map.of("x", TestTensors.f32(new long[]{1}, 3f)));
        try (Checkpoint c = Checkpoint.open(file)) {
            assertThat(c.format()).isEqualTo(Checkpoint.SAFETENSORS);
            assertThat(c.get("x").data().get(F32, 0)).isEqualTo(3f);
        }
    }

    @Test
    void writerStreamsChunksAcrossTensorsFromAnyKindOfSegment() {
        Path file = dir.resolve("chunks.safetensors");
        List<SafetensorsWriter.Entry> layout = List.of(new SafetensorsWriter.Entry("a", DType.F32, new long[]{3}),
                new SafetensorsWriter.Entry("b", DType.F32, new long[]{2, 2}));
        float[] values = {1, 2, 3, 4, 5, 6, 7};
        try (SafetensorsWriter w = SafetensorsWriter.create(file, layout, Map.of())) {
            assertThat(w.remaining()).isEqualTo(28);
            w.append(MemorySegment.ofArray(values).asSlice(0, 8)); // float[]-backed: no ByteBuffer view, staged
            w.append(MemorySegment.ofArray(values).asSlice(8, 20)); // crosses from "a" into "b"
        }
        try (Checkpoint c = Checkpoint.open(file)) {
            MemorySegment b = c.get("b").data();
            assertThat(new float[]{b.get(F32, 0), b.get(F32, 12)}).containsExactly(4f, 7f);
            assertThat(c.get("a").data().get(F32, 8)).isEqualTo(3f);
        }
    }

    @Test
    void writerRefusesMisuse() {
        List<SafetensorsWriter.Entry> layout = List.of(new SafetensorsWriter.Entry("a", DType.F16, new long[]{2}),
                new SafetensorsWriter.Entry("b", DType.I8, new long[]{3}));
        Path file = dir.resolve("misuse.safetensors");
        try (SafetensorsWriter w = SafetensorsWriter.create(file, layout, Map.of())) {
            assertThatThrownBy(() -> w.writeTensor("b", MemorySegment.ofArray(new byte[3])))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("'b' is not the next tensor");
            assertThatThrownBy(() -> w.writeTensor("a", MemorySegment.ofArray(new byte[3])))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 4 bytes, got 3");
            assertThatThrownBy(() -> w.writeTensor("c", MemorySegment.ofArray(new byte[3])))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no tensor 'c'");
            assertThatThrownBy(() -> w.append(MemorySegment.ofArray(new byte[8])))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only 7 remain");
            w.writeTensor("a", MemorySegment.ofArray(new byte[4]));
            w.writeTensor("b", MemorySegment.ofArray(new byte[3]));
        }
        assertThat(file).exists();
        assertThatThrownBy(() -> {
            try (SafetensorsWriter w = SafetensorsWriter.create(file, layout, Map.of())) {
                w.writeTensor("a", MemorySegment.ofArray(new byte[4]));
            }
        }).isInstanceOf(ChatGlmException.class).hasMessageContaining("incomplete safetensors file deleted: 4 of 7");
        assertThat(file).doesNotExist();
        assertThatThrownBy(() -> SafetensorsWriter.create(file, List.of(layout.getFirst(), layout.getFirst()), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'a' twice");
    }

    @Test
    void headerLengthMustFitTheFile() throws IOException {
        Path file = dir.resolve("model.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).put("{}      ".getBytes());
        Files.write(file, b.array());
        assertOpenFails(file, "safetensors header length 1000 is larger than the file (16 bytes)");
        ByteBuffer huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).put("{}      ".getBytes());
        Files.write(file, huge.array());
        assertOpenFails(file, "safetensors header length 18446744073709551615 is larger than the file");
        Files.write(file, new byte[5]);
        assertOpenFails(file, "5 bytes is too short for a safetensors file");
        raw("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4);
        assertOpenFails(file, new CheckpointLimits(1 << 20, 100, 100, 100, 16, 100), "exceeds the limit of 16 bytes");
    }

    @Test
    void headerMustBeValidJson() {
        Path file = raw("{\"x\": {\"dtype\": \"F32\", \"shape\": [1] \"data_offsets\": [0, 4]}}", 4);
        assertOpenFails(file, "safetensors header: invalid JSON at line 1, column");
        raw("[1, 2]", 0);
        assertOpenFails(file, "safetensors header is not a JSON object");
        raw("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}} {", 4);
        assertOpenFails(file, "invalid JSON");
        raw("{\"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                + " \"x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8);
        assertOpenFails(file, "Duplicate field 'x'");
        raw("", 0);
        assertOpenFails(file, "invalid JSON");
    }

    @Test
    void tensorDescriptionsAreValidated() {
        Path file = raw("{\"w\": {\"dtype\": \"F8_E9\", \"shape\": [2], \"data_offsets\": [0, 2]}}", 2);
        assertOpenFails(file, "tensor 'w' has unknown dtype 'F8_E9'");
        raw("{\"w\": {\"shape\": [2], \"data_offsets\": [0, 2]}}", 2);
        assertOpenFails(file, "tensor 'w' has no dtype string");
        raw("{\"w\": {\"dtype\": \"I8\", \"shape\": [-2], \"data_offsets\": [0, 2]}}", 2);
        assertOpenFails(file, "tensor 'w' has an invalid shape value '-2'");
        raw("{\"w\": {\"dtype\": \"I8\", \"shape\": [2.5], \"data_offsets\": [0, 2]}}", 2);
        assertOpenFails(file, "tensor 'w' has an invalid shape value '2.5'");
        raw("{\"w\": {\"dtype\": \"I8\", \"shape\": [2], \"data_offsets\": [0]}}", 2);
        assertOpenFails(file, "tensor 'w' has no valid data_offsets (expected 2 integers)");
        raw("{\"w\": 5}", 0);
        assertOpenFails(file, "tensor 'w' is not described by a JSON object");
        raw("{\"w\": {\"dtype\": \"F16\", \"shape\": [3], \"data_offsets\": [0, 4]}}", 4);
        assertOpenFails(file, "tensor 'w' of f16[3] needs 6 bytes but data_offsets [0, 4] hold 4");
        raw("{\"w\": {\"dtype\": \"F16\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 4]}}", 4);
        assertOpenFails(file, "tensor 'w' has a shape too large");
        raw("{\"__metadata__\": [], \"w\": {\"dtype\": \"I8\", \"shape\": [1], \"data_offsets\": [0, 1]}}", 1);
        assertOpenFails(file, "__metadata__ is not an object");
    }

    @Test
    void offsetsMustTileTheDataRegion() {
        Path file = raw("{\"w\": {\"dtype\": \"I8\", \"shape\": [8], \"data_offsets\": [4, 12]}}", 8);
        assertOpenFails(file, "tensor 'w' has data_offsets [4, 12] outside the data region of 8 bytes");
        raw("{\"w\": {\"dtype\": \"I8\", \"shape\": [0], \"data_offsets\": [6, 2]}}", 8);
        assertOpenFails(file, "tensor 'w' has data_offsets [6, 2] outside the data region");
        raw("{\"a\": {\"dtype\": \"I8\", \"shape\": [6], \"data_offsets\": [0, 6]},"
                + " \"b\": {\"dtype\": \"I8\", \"shape\": [4], \"data_offsets\": [4, 8]}}", 8);
        assertOpenFails(file, "tensors 'a' [0, 6] and 'b' [4, 8] overlap");
        raw("{\"a\": {\"dtype\": \"I8\", \"shape\": [4], \"data_offsets\": [0, 4]},"
                + " \"b\": {\"dtype\": \"I8\", \"shape\": [2], \"data_offsets\": [6, 8]}}", 8);
        assertOpenFails(file, "bytes [4, 6) of the data region belong to no tensor");
        raw("{\"a\": {\"dtype\": \"I8\", \"shape\": [4], \"data_offsets\": [0, 4]}}", 8);
        assertOpenFails(file, "tensors cover 4 bytes but the data region holds 8 bytes");
    }
}
