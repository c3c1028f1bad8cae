package org.chatglm4j.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.chatglm4j.ChatGlmException;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Coverage-guided fuzzing (Jazzer) of the checkpoint readers that see untrusted bytes: the pickle VM, the zip
 * central directory, the torch zip layout and the safetensors header. Any input must end in a
 * {@link ChatGlmException} or a result; any other exception, a hang or an OOM is a finding.
 *
 * <p>{@code bin/test} runs these over the seed corpus in {@code src/test/resources/org/chatglm4j/io/CheckpointFuzzTestInputs};
 * {@code bin/fuzz MINUTES} fuzzes each for that long (docs/reliability.md).
 */
class CheckpointFuzzTest {
    static final Path FILE = Path.of("fuzz-input");

    @FuzzTest(maxDuration = "2m")
    void pickle(byte[] data) {
        MemorySegment seg = MemorySegment.ofArray(data);
        try {
            SafeUnpickler.load(seg, "fuzz", CheckpointLimits.DEFAULT);
        } catch (ChatGlmException expected) {
            // a clear error
        }
        try {
            SafeUnpickler.loadStateDict(seg, "fuzz", CheckpointLimits.DEFAULT);
        } catch (ChatGlmException expected) {
            // a clear error
        }
    }

    @FuzzTest(maxDuration = "2m")
    void zipDirectory(byte[] data) {
        MemorySegment seg = MemorySegment.ofArray(data);
        try {
            ZipDirectory.read(FILE, seg, 1 << 16);
        } catch (ChatGlmException expected) {
            // a clear error
        }
        try {
            TorchZipReader.read(FILE, seg, CheckpointLimits.DEFAULT);
        } catch (ChatGlmException expected) {
            // a clear error
        }
    }

    @FuzzTest(maxDuration = "2m")
    void safetensorsHeader(byte[] data) {
        try {
            SafetensorsReader.read(FILE, MemorySegment.ofArray(data), CheckpointLimits.DEFAULT);
        } catch (ChatGlmException expected) {
            // a clear error
        }
    }
}
