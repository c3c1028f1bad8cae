package org.chatglm4j.cglm;

import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.testing.Fixtures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** A small real {@code .cglm} (fixture model_a, Q4): its header JSON (a fuzz seed) and its tensor data. */
final class CglmSeed {
    static final long DATA_OFFSET;
    private static final byte[] FILE_BYTES;

    static {
        try {
            Path out = Files.createTempFile("chatglm-seed", CglmFormat.EXTENSION);
            CglmWriter.convert(Fixtures.path("model_a/checkpoint"), QuantFormat.Q4, QuantFormat.NONE, out, null);
            FILE_BYTES = Files.readAllBytes(out);
            Files.delete(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long n = ByteBuffer.wrap(FILE_BYTES).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
        DATA_OFFSET = CglmFormat.align(CglmFormat.PREAMBLE + n);
    }

    private CglmSeed() {
    }

    static byte[] header() {
        long n = ByteBuffer.wrap(FILE_BYTES).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
        return Arrays.copyOfRange(FILE_BYTES, CglmFormat.PREAMBLE, (int) (CglmFormat.PREAMBLE + n));
    }

    /** The file up to its tensor data: preamble, header and padding. */
    static byte[] head() {
        return Arrays.copyOfRange(FILE_BYTES, 0, (int) DATA_OFFSET);
    }

    static byte[] data() {
        return Arrays.copyOfRange(FILE_BYTES, (int) DATA_OFFSET, FILE_BYTES.length);
    }
}
