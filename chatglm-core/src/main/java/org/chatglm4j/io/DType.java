package org.chatglm4j.io;

import java.util.Locale;

/** Element types found in checkpoints. Weights use F32, F16, BF16 and I8; the rest only appear in metadata. */
public enum DType {
    /** IEEE 754 double; metadata only. */
    F64(8),
    /** IEEE 754 single; full-precision weights and layer norms. */
    F32(4),
    /** IEEE 754 half; the usual ChatGLM weight type. */
    F16(2),
    /** bfloat16 (the upper half of an F32); ChatGLM2/3 weights are often saved this way. */
    BF16(2),
    /** Signed 64-bit integer; metadata only (ids, counters). */
    I64(8),
    /** Signed 32-bit integer; metadata only. */
    I32(4),
    /** Signed 16-bit integer; metadata only. */
    I16(2),
    /** Signed 8-bit integer; quantized weights. */
    I8(1),
    /** Unsigned 8-bit integer; metadata only. */
    U8(1),
    /** Boolean, one byte per element; metadata only (masks). */
    BOOL(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Size of one element in bytes (1 for {@link #BOOL}, as torch and safetensors store it). */
    public int bytes() {
        return bytes;
    }

    /** The safetensors spelling ("F16", "BF16", "I8", ...). */
    public static DType fromSafetensors(String name) {
        return switch (name) {
            case "F64" -> F64;
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            case "I64" -> I64;
            case "I32" -> I32;
            case "I16" -> I16;
            case "I8" -> I8;
            case "U8" -> U8;
            case "BOOL" -> BOOL;
            default -> throw new IllegalArgumentException("unknown dtype '" + name + "'");
        };
    }

    /** The torch storage class name of the pickle ("HalfStorage", "FloatStorage", ...). */
    public static DType fromTorchStorage(String storageClass) {
        return switch (storageClass) {
            case "DoubleStorage" -> F64;
            case "FloatStorage" -> F32;
            case "HalfStorage" -> F16;
            case "BFloat16Storage" -> BF16;
            case "LongStorage" -> I64;
            case "IntStorage" -> I32;
            case "ShortStorage" -> I16;
            case "CharStorage" -> I8;
            case "ByteStorage" -> U8;
            case "BoolStorage" -> BOOL;
            default -> throw new IllegalArgumentException("unknown torch storage type '" + storageClass + "'");
        };
    }

    /** The lower-case name ("f16", "bf16", ...), as used in messages and shape strings. */
    public String lowerName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
