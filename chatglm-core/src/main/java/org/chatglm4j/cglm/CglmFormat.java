package org.chatglm4j.cglm;

/**
 * chatglm4j's single-file model format ({@code .cglm}): everything a model needs in one memory-mappable file.
 *
 * <pre>
 * offset 0   "CGLM" | u32 version | u64 header length N | u32 CRC32C of the header | u32 0      (24 bytes, LE)
 * offset 24  N bytes of UTF-8 JSON: format_version, config (config.json keys), tokenizer_config, tokenizer
 *            {offset, length, crc32c} (the ice_text.model bytes), tensors [{name, kind, shape, parts:
 *            [{role, offset, length, crc32c}]}], quantization, created_by
 * then       data, every part at an offset that is a multiple of {@link #ALIGNMENT}
 * </pre>
 *
 * Tensor kinds: {@code f32 f16 bf16} (part "data"), {@code int8 int4} (parts "quants" and "scales", float32 per
 * row), {@code q8 q4} (parts "quants" and "scales", fp16 per 32 values), {@code vector} (float32). 4-bit quants
 * use {@link org.chatglm4j.tensor.Q4Layout}, int8 quants {@link org.chatglm4j.tensor.Int8Layout} (since version 2;
 * version 1 stored them row-major). lm_head is the word embedding matrix and is not stored twice.
 * The header's CRC is checked on every load; the data's CRCs by {@link CglmModel#verify()}.
 */
public final class CglmFormat {
    /** The first four bytes of a {@code .cglm} file. */
    public static final byte[] MAGIC = {'C', 'G', 'L', 'M'};
    /** The format version written and read. */
    public static final int VERSION = 2;
    /** Bytes before the JSON header: magic, version, header length, header CRC, padding. */
    public static final int PREAMBLE = 24;
    /** Alignment of every data part: a page, so each part can be mapped and read on its own. */
    public static final int ALIGNMENT = 4096;
    /** No real header is near this; protects against a corrupt length. */
    public static final long MAX_HEADER = 64L << 20;
    /** The file name extension. */
    public static final String EXTENSION = ".cglm";

    private CglmFormat() {
    }

    static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }
}
