package org.chatglm4j.tokenizer;

import org.chatglm4j.ChatGlmException;

import java.nio.charset.StandardCharsets;

/**
 * A minimal, bounds-checked reader of the protobuf wire format over one message (a window of a byte array).
 * Every length and varint is checked against the window, so a truncated or corrupt file yields a
 * {@link ChatGlmException} naming the file instead of an index exception or a huge allocation.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;

    private final byte[] buf;
    private final int limit;
    private final String source;
    private int pos;

    ProtoReader(byte[] buf, int offset, int length, String source) {
        this.buf = buf;
        this.pos = offset;
        this.limit = offset + length;
        this.source = source;
    }

    int position() {
        return pos;
    }

    boolean hasMore() {
        return pos < limit;
    }

    /** Reads a field key; returns {@code fieldNumber << 3 | wireType} after checking both are sane. */
    int readTag() {
        int at = pos;
        long key = readVarint();
        int wire = (int) (key & 7);
        long field = key >>> 3;
        if (field == 0 || field > 0x1FFFFFFF) throw corrupt("invalid field number " + field, at);
        if (wire != VARINT && wire != FIXED64 && wire != LENGTH_DELIMITED && wire != FIXED32) {
            throw corrupt("unsupported wire type " + wire + " of field " + field, at);
        }
        return (int) key;
    }

    long readVarint() {
        int at = pos;
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= limit) throw corrupt("truncated varint", at);
            byte b = buf[pos++];
            result |= (long) (b & 0x7F) << shift;
            if (b >= 0) return result;
        }
        throw corrupt("varint longer than 10 bytes", at);
    }

    /** An int32/enum field: protobuf stores negatives sign-extended to 64 bits, the low 32 bits are the value. */
    int readInt32() {
        return (int) readVarint();
    }

    boolean readBool() {
        return readVarint() != 0;
    }

    float readFloat() {
        need(4);
        int bits = (buf[pos] & 0xFF) | (buf[pos + 1] & 0xFF) << 8 | (buf[pos + 2] & 0xFF) << 16
                | (buf[pos + 3] & 0xFF) << 24;
        pos += 4;
        return Float.intBitsToFloat(bits);
    }

    /** Reads the length of a length-delimited field and returns a reader over its payload, skipping it here. */
    ProtoReader readMessage() {
        int len = readLength();
        ProtoReader sub = new ProtoReader(buf, pos, len, source);
        pos += len;
        return sub;
    }

    byte[] readBytes() {
        int len = readLength();
        byte[] out = java.util.Arrays.copyOfRange(buf, pos, pos + len);
        pos += len;
        return out;
    }

    String readString() {
        int len = readLength();
        String s = new String(buf, pos, len, StandardCharsets.UTF_8);
        pos += len;
        return s;
    }

    /** Skips the value of a field with the given wire type (unknown fields are ignored, as protobuf does). */
    void skip(int wireType) {
        switch (wireType) {
            case VARINT -> readVarint();
            case FIXED64 -> {
                need(8);
                pos += 8;
            }
            case LENGTH_DELIMITED -> {
                int len = readLength(); // not "pos += readLength()": that would add to the pos before the varint
                pos += len;
            }
            case FIXED32 -> {
                need(4);
                pos += 4;
            }
            default -> throw corrupt("unsupported wire type " + wireType, pos);
        }
    }

    private int readLength() {
        int at = pos;
        long len = readVarint();
        if (len < 0 || len > limit - pos) {
            throw corrupt("length " + len + " runs past the end of its message (" + (limit - pos) + " bytes left)", at);
        }
        return (int) len;
    }

    private void need(int n) {
        if (limit - pos < n) throw corrupt("truncated fixed-size field", pos);
    }

    ChatGlmException corrupt(String problem, int at) {
        return new ChatGlmException(source + ": not a valid SentencePiece model: " + problem + " at byte " + at);
    }
}
