package org.chatglm4j.quant;

import org.chatglm4j.ChatGlmException;

import java.util.Locale;

/** Storage formats a model's linear layers can be quantized to. */
public enum QuantFormat {
    /** Keep the checkpoint's floats (fp16, bf16 or fp32). */
    NONE("none"),
    /** The reference's INT8: one scale per row (what {@code quantize(8)} and THUDM/chatglm-6b-int8 use). */
    INT8("int8"),
    /** The reference's INT4: one scale per row (what {@code quantize(4)} and THUDM/chatglm-6b-int4 use). */
    INT4("int4"),
    /** Grouped INT8: an fp16 scale per 32 values (8.5 bits per weight). */
    Q8("q8"),
    /** Grouped INT4: an fp16 scale per 32 values (4.5 bits per weight, the size of ggml's q4_0). */
    Q4("q4");

    private final String id;

    QuantFormat(String id) {
        this.id = id;
    }

    /** The name used on the command line and in {@code .cglm} files. */
    public String id() {
        return id;
    }

    /** Accepts the names above and the reference's bit counts: "8" = int8, "4" = int4, "0" = none. */
    public static QuantFormat parse(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "none", "0", "f16", "fp16" -> NONE;
            case "int8", "8" -> INT8;
            case "int4", "4" -> INT4;
            case "q8", "q8_0" -> Q8;
            case "q4", "q4_0" -> Q4;
            default -> throw new ChatGlmException("unknown quantization '" + s + "' (use 8, 4, int8, int4, q8, q4 or none)");
        };
    }

    @Override
    public String toString() {
        return id;
    }
}
