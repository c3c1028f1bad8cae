package org.chatglm4j.cglm;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * Jazzer on the {@code .cglm} reader. The fuzzer writes the JSON header: it is framed with a valid preamble (magic,
 * version, length, checksum) so that mutations reach the header's interpretation (config, tokenizer and tensor
 * parts, their offsets and shapes) and not just the checksum; the tensor data of the seed model follows, as in a
 * real file. A second target fuzzes the whole file as raw bytes.
 */
class CglmFuzzTest {
    private static Path file() {
        try {
            Path p = Files.createTempFile("chatglm-fuzz", CglmFormat.EXTENSION);
            p.toFile().deleteOnExit();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final Path FILE = file();
    /** The tensor data of a converted fixture model, starting at the first aligned offset after its header. */
    private static final byte[] DATA = CglmSeed.data();

    @FuzzTest(maxDuration = "2m")
    void header(byte[] json) throws IOException {
        ByteBuffer pre = ByteBuffer.allocate(CglmFormat.PREAMBLE).order(ByteOrder.LITTLE_ENDIAN);
        CRC32C crc = new CRC32C();
        crc.update(json);
        pre.put(CglmFormat.MAGIC).putInt(CglmFormat.VERSION).putLong(json.length).putInt((int) crc.getValue());
        long dataStart = CglmFormat.align(CglmFormat.PREAMBLE + (long) json.length);
        byte[] out = new byte[(int) (Math.max(dataStart, CglmSeed.DATA_OFFSET) + DATA.length)];
        System.arraycopy(pre.array(), 0, out, 0, CglmFormat.PREAMBLE);
        System.arraycopy(json, 0, out, CglmFormat.PREAMBLE, json.length);
        // the data stays where the seed's header says it is whenever the fuzzed header fits before it
        System.arraycopy(DATA, 0, out, (int) Math.max(dataStart, CglmSeed.DATA_OFFSET), DATA.length);
        open(out);
    }

    @FuzzTest(maxDuration = "2m")
    void rawFile(byte[] bytes) throws IOException {
        open(bytes);
    }

    private static void open(byte[] bytes) throws IOException {
        Files.write(FILE, bytes);
        try (CglmModel m = CglmModel.open(FILE)) {
            m.verify();
        } catch (ChatGlmException expected) {
            // a clear error
        }
    }
}
