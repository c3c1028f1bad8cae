package org.chatglm4j.tensor;

import jdk.incubator.vector.IntVector;

import java.util.Locale;

/**
 * How the decode kernels of the grouped formats ({@code q4}, {@code q8}) treat their input: as float32 (the
 * prescaled-float kernels of {@link QuantKernels}), or quantized once per matrix to int8 per block of 32 with a
 * float scale, dotted in integer arithmetic ({@link IntKernels}). The reference formats ({@code int4},
 * {@code int8}) always use float activations: their goldens are float-exact.
 *
 * <p>The default is chosen per format and per CPU (AVX-512 or AVX2, told apart by the preferred vector width) from
 * what was measured (docs/performance.md); {@code -Dchatglm.activations=float|int8} overrides it, for A/B runs.
 */
public enum Activations {
    /** Float32 inputs, the prescaled-float kernels of {@link QuantKernels}; the only path of the reference formats. */
    FLOAT("float32"),
    /** Inputs quantized once per matrix to int8 per block of 32 with a float scale, dotted by {@link IntKernels}. */
    INT8("int8 per 32 (q8_0-style)");

    /** JVM option overriding the per-CPU choice. */
    public static final String PROPERTY = "chatglm.activations";

    private final String description;

    Activations(String description) {
        this.description = description;
    }

    /** A human-readable name of the path ("float32", "int8 per 32 (q8_0-style)"), for reports. */
    public String description() {
        return description;
    }

    /** "avx512" when 512-bit vectors are native, else "avx2" (the kernels need at least AVX2). */
    public static String cpu() {
        return IntVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? "avx512" : "avx2";
    }

    /**
     * The path for a grouped format ({@code "q4"} or {@code "q8"}) on this CPU: the property if set, else the
     * faster one as measured. Integer activations won for both formats on the AVX-512 (Zen 4) host, 1.3–1.5× in
     * the kernel; on AVX2 the same 256-bit kernels run, and their µop count is lower there too.
     */
    public static Activations defaultFor(String format) {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) return parse(p);
        return switch (format) {
            case "q4", "q8" -> INT8;
            default -> FLOAT;
        };
    }

    /** The path a matrix's decode kernels take: integer only for the grouped formats made so. */
    public static Activations of(WeightMatrix w) {
        return switch (w) {
            case Q4Matrix m -> m.activations();
            case Q8Matrix m -> m.activations();
            default -> FLOAT;
        };
    }

    /**
     * For reports: "avx512, q4 decode kernels on int8 activations; batches of 2–35 on float32, two-row kernel" and
     * the like (batches: {@link MatMul#effective}).
     */
    public static String describe(WeightMatrix w) {
        Activations a = of(w);
        String s = cpu() + ", " + w.format() + " decode kernels on " + (a == INT8 ? "int8 activations" : "float32 activations");
        if (MatMul.ROW_PAIRS && w instanceof RowPairKernel) {
            s += "; batches of 2–" + (MatMul.TILED_MIN_INPUTS - 1) + (a == INT8 ? " on float32," : "") + " two-row kernel";
        }
        return s;
    }

    /**
     * Reads a user's choice ("float", "float32", "f32", "int8", "q8_0", any case); throws {@link
     * org.chatglm4j.ChatGlmException} on anything else.
     */
    public static Activations parse(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "float", "float32", "f32" -> FLOAT;
            case "int8", "q8_0" -> INT8;
            default -> throw new org.chatglm4j.ChatGlmException("activations must be float or int8, got '" + s + "'");
        };
    }
}
