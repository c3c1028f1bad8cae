package org.chatglm4j.tokenizer;

/** The type of a SentencePiece vocabulary entry ({@code ModelProto.SentencePiece.Type}). */
public enum PieceType {
    /** A piece the segmenter may produce. */
    NORMAL,
    /** The one unknown piece, {@code <unk>}. */
    UNKNOWN,
    /** Invisible symbols such as {@code <s>}, {@code [gMASK]}: never produced by encoding, decode to "". */
    CONTROL,
    /** Symbols that are always segmented atomically and bypass normalization, such as {@code <n>}. */
    USER_DEFINED,
    /** Pieces in the vocabulary that the segmenter must not use. */
    UNUSED,
    /** {@code <0x00>}…{@code <0xFF>}: the UTF-8 bytes of characters the vocabulary lacks (byte fallback). */
    BYTE;

    /** The protobuf enum number; proto2 keeps the default (NORMAL) for numbers it does not know. */
    static PieceType fromProto(int value) {
        return switch (value) {
            case 2 -> UNKNOWN;
            case 3 -> CONTROL;
            case 4 -> USER_DEFINED;
            case 5 -> UNUSED;
            case 6 -> BYTE;
            default -> NORMAL;
        };
    }
}
