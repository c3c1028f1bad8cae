package org.chatglm4j.io;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.chatglm4j.io.PickleBuilder.contiguous;

/** torch.save zip archives built byte by byte: zip64, shared storages, and every way they can be broken. */
class TorchZipTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    private static void assertOpenFails(Path file, String expected) {
        assertThatThrownBy(() -> Checkpoint.open(file).close())
                .isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith(file.toString())
                .hasMessageContaining(expected)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    /** A state dict of one tensor {@code t}: float16 of {@code shape} over storage "0" of {@code numel}. */
    private static byte[] oneTensor(long numel, long[] shape) {
        return new PickleBuilder().proto(2).orderedDict().put(0).mark()
                .unicode("t").tensor("HalfStorage", "0", numel, 0, shape, contiguous(shape))
                .setitems().stop().bytes();
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return b.array();
    }

    @Test
    void tensorsMaySliceASharedStorage() {
        byte[] storage = TestTensors.pattern(DType.F16, new long[]{10}, 3).bytes();
        byte[] pickle = new PickleBuilder().proto(2).emptyDict().mark()
                .unicode("head").tensor("HalfStorage", "0", 10, 0, new long[]{4}, contiguous(4))
                .unicode("tail").tensor("HalfStorage", "0", 10, 4, new long[]{2, 3}, contiguous(2, 3))
                .setitems().stop().bytes();
        Path file = TorchZipBuilder.stateDict("shared", pickle, storage).write(dir.resolve("shared.bin"));
        try (Checkpoint c = Checkpoint.open(file)) {
            TensorRef head = c.get("head");
            TensorRef tail = c.get("tail");
            assertThat(TestTensors.bytes(head.data())).isEqualTo(Arrays.copyOfRange(storage, 0, 8));
            assertThat(TestTensors.bytes(tail.data())).isEqualTo(Arrays.copyOfRange(storage, 8, 20));
            assertThat(tail.data().address() - head.data().address()).isEqualTo(8); // same mapping, no copy
            assertThat(head.data().address() % 64).isZero(); // torch aligns entry data to 64 bytes
            assertThat(c.totalBytes()).isEqualTo(20);
        }
    }

    @Test
    void zip64RecordsAreReadEvenForSmallArchives() {
        byte[] pickle = new PickleBuilder().proto(2).emptyDict().unicode("w")
                .tensor("FloatStorage", "0", 3, 0, new long[]{3}, contiguous(3)).setitem().stop().bytes();
        Path file = TorchZipBuilder.stateDict("z64", pickle, floats(1.5f, -2f, 3.25f)).forceZip64()
                .write(dir.resolve("z64.bin"));
        try (Checkpoint c = Checkpoint.open(file)) {
            MemorySegment w = c.get("w").data();
            assertThat(new float[]{w.get(F32, 0), w.get(F32, 4), w.get(F32, 8)}).containsExactly(1.5f, -2f, 3.25f);
        }
    }

    @Test
    void archivesLargerThan4GiBUseZip64Offsets() throws IOException {
        // data/0 is a 4.5 GiB hole (sparse file: no disk space, nothing read), so data/1 lies beyond 4 GiB
        long big = (9L << 29);
        byte[] pickle = new PickleBuilder().proto(2).emptyDict().mark()
                .unicode("big").tensor("CharStorage", "0", big, 0, new long[]{big / 4096, 4096}, contiguous(big / 4096, 4096))
                .unicode("small").tensor("FloatStorage", "1", 2, 0, new long[]{2}, contiguous(2))
                .setitems().stop().bytes();
        Path file = new TorchZipBuilder("huge").add("data.pkl", pickle).addSparse("data/0", big)
                .add("data/1", floats(42f, -7f)).write(dir.resolve("huge.bin"));
        assertThat(Files.size(file)).isGreaterThan(big);
        try (Checkpoint c = Checkpoint.open(file)) {
            assertThat(c.get("big").data().byteSize()).isEqualTo(big);
            assertThat(c.get("big").data().get(ValueLayout.JAVA_BYTE, big - 1)).isZero();
            MemorySegment small = c.get("small").data();
            assertThat(small.address() - c.get("big").data().address()).isGreaterThan(big);
            assertThat(new float[]{small.get(F32, 0), small.get(F32, 4)}).containsExactly(42f, -7f);
        }
    }

    @Test
    void compressedEntriesAreRefused() throws IOException {
        // a torch checkpoint re-zipped by a generic tool (deflated entries): cannot be mapped
        Path file = dir.resolve("deflated.bin");
        byte[] pickle = oneTensor(4, new long[]{4});
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.putNextEntry(new ZipEntry("deflated/data.pkl"));
            zip.write(pickle);
            zip.putNextEntry(new ZipEntry("deflated/data/0"));
            zip.write(new byte[8]);
            zip.closeEntry();
        }
        assertOpenFails(file, "zip entry 'deflated/data.pkl' is compressed (method 8)");
        Path storageDeflated = new TorchZipBuilder("a").add("data.pkl", pickle).addDeflated("data/0", new byte[8])
                .write(dir.resolve("storage-deflated.bin"));
        assertOpenFails(storageDeflated, "zip entry 'a/data/0' is compressed (method 8)");
    }

    @Test
    void truncatedFilesAreRefused() throws IOException {
        Path original = Fixtures.path("model_a/checkpoint/pytorch_model.bin");
        byte[] bytes = Files.readAllBytes(original);
        // offsets from `zipinfo -v`: data.pkl data at 64..6951, data/0 from 7040, central directory at 659282
        long[] cuts = {bytes.length - 1, bytes.length - 30, 659282 + 100, 300_000, 7040 + 1000, 3000, 100, 10};
        for (long cut : cuts) {
            Path file = dir.resolve("cut-" + cut + ".bin");
            Files.write(file, Arrays.copyOf(bytes, (int) cut));
            assertOpenFails(file, "not a zip archive, or truncated: no end-of-central-directory record");
        }
        Path empty = dir.resolve("empty.bin");
        Files.write(empty, new byte[0]);
        assertOpenFails(empty, "empty file");
    }

    @Test
    void truncatedPickleInsideAValidArchive() {
        byte[] pickle = oneTensor(4, new long[]{4});
        Path file = TorchZipBuilder.stateDict("p", Arrays.copyOf(pickle, pickle.length - 5), new byte[8])
                .write(dir.resolve("short-pickle.bin"));
        assertOpenFails(file, "[p/data.pkl]: pickle is truncated");
    }

    @Test
    void entriesClaimingMoreBytesThanTheFileHasAreRefused() throws IOException {
        byte[] pickle = oneTensor(4, new long[]{4});
        Path file = TorchZipBuilder.stateDict("lie", pickle, new byte[8]).write(dir.resolve("lie.bin"));
        byte[] bytes = Files.readAllBytes(file);
        // the central directory record of lie/data/0 (the last occurrence of its name) claims 1 GB
        int name = lastIndexOf(bytes, "lie/data/0".getBytes(StandardCharsets.US_ASCII));
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(name - 46 + 20, 1 << 30).putInt(name - 46 + 24, 1 << 30);
        Files.write(file, bytes);
        assertOpenFails(file, "zip entry 'lie/data/0' (1073741824 bytes at offset");
        assertOpenFails(file, "extends past the end of the entry data");

        Path moved = TorchZipBuilder.stateDict("cd", pickle, new byte[8]).write(dir.resolve("cd.bin"));
        bytes = Files.readAllBytes(moved);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length - 22 + 16, 1 << 30);
        Files.write(moved, bytes);
        assertOpenFails(moved, "central directory (offset 1073741824");
    }

    @Test
    void storageMustMatchItsEntry() {
        Path missing = TorchZipBuilder.stateDict("m", new PickleBuilder().proto(2).emptyDict()
                        .unicode("t").tensor("HalfStorage", "5", 4, 0, new long[]{4}, contiguous(4))
                        .setitem().stop().bytes(), new byte[8])
                .write(dir.resolve("missing-entry.bin"));
        assertOpenFails(missing, "tensor 't' refers to storage '5' but the archive has no entry 'm/data/5'");

        Path wrongSize = TorchZipBuilder.stateDict("s", oneTensor(6, new long[]{6}), new byte[10])
                .write(dir.resolve("wrong-size.bin"));
        assertOpenFails(wrongSize, "storage '0' of tensor 't' declares 6 f16 elements but entry 's/data/0' holds 10 bytes");

        Path beyond = TorchZipBuilder.stateDict("b", oneTensor(4, new long[]{5}), new byte[8])
                .write(dir.resolve("beyond.bin"));
        assertOpenFails(beyond, "needs 5 elements but storage '0' holds 4");

        byte[] inconsistent = new PickleBuilder().proto(2).emptyDict().mark()
                .unicode("a").tensor("HalfStorage", "0", 4, 0, new long[]{4}, contiguous(4))
                .unicode("b").tensor("FloatStorage", "0", 2, 0, new long[]{2}, contiguous(2))
                .setitems().stop().bytes();
        Path twice = TorchZipBuilder.stateDict("i", inconsistent, new byte[8]).write(dir.resolve("twice.bin"));
        assertOpenFails(twice, "storage '0' is declared twice with different types or sizes (tensor 'b')");
    }

    @Test
    void forbiddenGlobalInACheckpointNamesTheFile() {
        byte[] exploit = new PickleBuilder().proto(2).global("os", "system").mark().unicode("echo pwned").tuple()
                .reduce().stop().bytes();
        Path file = TorchZipBuilder.stateDict("evil", exploit).write(dir.resolve("pytorch_model.bin"));
        assertOpenFails(file, "pickle references forbidden global 'os.system'");
        assertOpenFails(dir, "pickle references forbidden global 'os.system'"); // through the folder, same file named
    }

    @Test
    void unknownOpcodeInACheckpoint() {
        byte[] pickle = new PickleBuilder().proto(2).emptyDict().op('i').raw("os\nsystem\n".getBytes()).stop().bytes();
        Path file = TorchZipBuilder.stateDict("op", pickle).write(dir.resolve("opcode.bin"));
        assertOpenFails(file, "pickle opcode 0x69 ('i') at offset 3 is not supported");
    }

    @Test
    void archiveStructureIsChecked() {
        Path noPickle = new TorchZipBuilder("x").add("data/0", new byte[8]).write(dir.resolve("no-pickle.bin"));
        assertOpenFails(noPickle, "no <archive>/data.pkl entry");
        byte[] pickle = oneTensor(4, new long[]{4});
        Path duplicate = new TorchZipBuilder("d").add("data.pkl", pickle).add("data/0", new byte[8])
                .add("data/0", new byte[8]).write(dir.resolve("duplicate.bin"));
        assertOpenFails(duplicate, "two entries named 'd/data/0'");
        Path bigEndian = TorchZipBuilder.stateDict("be", pickle, new byte[8]).add("byteorder", "big".getBytes())
                .write(dir.resolve("big-endian.bin"));
        assertOpenFails(bigEndian, "stored in 'big' byte order");
        Path littleEndian = TorchZipBuilder.stateDict("le", pickle, new byte[8]).add("byteorder", "little".getBytes())
                .write(dir.resolve("little-endian.bin"));
        try (Checkpoint c = Checkpoint.open(littleEndian)) {
            assertThat(c.get("t").shape()).containsExactly(4);
        }
    }

    @Test
    void legacyTorchFormatIsRefused() throws IOException {
        Path file = dir.resolve("legacy.bin");
        Files.write(file, new PickleBuilder().proto(2).integer(0x1950a86a).stop().bytes()); // the old magic number
        assertOpenFails(file, "legacy (pre-1.6) torch.save format is not supported");
    }

    private static int lastIndexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = haystack.length - needle.length; i >= 0; i--) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
