package org.chatglm4j.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Opening and reading a checkpoint maps it: the heap grows by the metadata only, whatever the file size. */
class ZeroCopyTest {
    private static final long CHUNK = 8L << 20;

    @TempDir
    Path dir;

    private static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        System.gc();
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    void readingA384MbCheckpointKeepsTheHeapSmall() throws Exception {
        // 12 tensors of 32 MB (fp16 [4096, 4096]), streamed from one reused off-heap chunk
        List<SafetensorsWriter.Entry> layout = new ArrayList<>();
        for (int i = 0; i < 12; i++) layout.add(new SafetensorsWriter.Entry("layer." + i, DType.F16, new long[]{4096, 4096}));
        Path file = dir.resolve("model.safetensors");
        try (Arena arena = Arena.ofConfined(); SafetensorsWriter w = SafetensorsWriter.create(file, layout, Map.of())) {
            MemorySegment chunk = arena.allocate(CHUNK);
            for (long k = 0; w.remaining() > 0; k++) {
                chunk.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, k); // a marker per chunk, to check the data
                w.append(chunk);
            }
        }
        long fileSize = Files.size(file);
        assertThat(fileSize).isGreaterThan(384L << 20);

        long before = usedHeap();
        try (Checkpoint c = Checkpoint.open(dir)) {
            long sum = 0;
            for (TensorRef t : c.tensors().values()) { // touch every page
                for (long p = 0; p < t.data().byteSize(); p += 4096) sum += t.data().get(ValueLayout.JAVA_BYTE, p);
            }
            long after = usedHeap();
            assertThat(after - before).as("heap growth while %d bytes are mapped", fileSize).isLessThan(fileSize / 20);
            assertThat(sum).isEqualTo(47 * 48 / 2); // all zero but the markers 0..47 at each chunk start (< 128: one byte)
            TensorRef third = c.get("layer.2"); // starts at chunk 8 (4 chunks per tensor)
            assertThat(third.data().get(ValueLayout.JAVA_LONG_UNALIGNED, 0)).isEqualTo(8L);
            assertThat(third.data().get(ValueLayout.JAVA_LONG_UNALIGNED, CHUNK)).isEqualTo(9L);
        }
    }
}
