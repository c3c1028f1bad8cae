package org.chatglm4j.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Writes SentencePiece {@code ModelProto} bytes for tests (well-formed or deliberately broken models). */
final class ModelProtoWriter {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;

    ModelProtoWriter piece(String piece, float score, int type) {
        ModelProtoWriter m = new ModelProtoWriter();
        m.bytes(1, piece.getBytes(StandardCharsets.UTF_8)).fixed32(2, Float.floatToIntBits(score)).varint(3, type);
        return message(1, m);
    }

    /** The 256 byte pieces {@code <0x00>} … {@code <0xFF>} of a byte-fallback model. */
    ModelProtoWriter bytePieces() {
        for (int b = 0; b < 256; b++) piece("<0x%02X>".formatted(b), 0f, BYTE);
        return this;
    }

    ModelProtoWriter trainerSpec(int modelType, boolean byteFallback) {
        ModelProtoWriter m = new ModelProtoWriter();
        m.varint(3, modelType).varint(35, byteFallback ? 1 : 0);
        return message(2, m);
    }

    ModelProtoWriter normalizerSpec(String name, byte[] charsmap, boolean addDummyPrefix, boolean removeExtra) {
        ModelProtoWriter m = new ModelProtoWriter();
        m.bytes(1, name.getBytes(StandardCharsets.UTF_8));
        if (charsmap != null) m.bytes(2, charsmap);
        m.varint(3, addDummyPrefix ? 1 : 0).varint(4, removeExtra ? 1 : 0);
        return message(3, m);
    }

    ModelProtoWriter message(int field, ModelProtoWriter m) {
        return bytes(field, m.toBytes());
    }

    ModelProtoWriter bytes(int field, byte[] b) {
        rawVarint((long) field << 3 | 2);
        rawVarint(b.length);
        out.writeBytes(b);
        return this;
    }

    ModelProtoWriter varint(int field, long v) {
        rawVarint((long) field << 3);
        rawVarint(v);
        return this;
    }

    ModelProtoWriter fixed32(int field, int v) {
        rawVarint((long) field << 3 | 5);
        for (int i = 0; i < 4; i++) out.write(v >>> (8 * i));
        return this;
    }

    ModelProtoWriter raw(byte... b) {
        out.writeBytes(b);
        return this;
    }

    ModelProtoWriter rawVarint(long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return this;
    }

    byte[] toBytes() {
        return out.toByteArray();
    }
}
