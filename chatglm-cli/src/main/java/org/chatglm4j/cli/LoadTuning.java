package org.chatglm4j.cli;

import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.quant.QuantFormat;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

import java.util.Locale;

/** How the commands that run the model load it: quantization while loading, KV cache precision. */
public final class LoadTuning {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = {"-q", "--quantize"}, paramLabel = "FORMAT", converter = QuantFormatConverter.class,
            description = "Quantize the linear layers while loading: 8 or int8, 4 or int4 (the reference's layouts), "
                    + "q8 or q4 (a scale per 32 values: more accurate). Default: as stored.")
    QuantFormat quantize = QuantFormat.NONE;

    @Option(names = "--quantize-embeddings", paramLabel = "FORMAT", converter = QuantFormatConverter.class,
            description = "Also quantize the word embeddings / lm_head (the reference keeps them fp16). Default: none.")
    QuantFormat embeddings = QuantFormat.NONE;

    /** Null when not given: each command has its default ({@link #apply(LoadOptions, KvCache.Precision)}). */
    KvCache.Precision kvCache;

    @Option(names = "--kv-cache", paramLabel = "f32|f16",
            description = "Precision of the attention cache: f32 (exact) or f16 (half the memory). Default: f16 when "
                    + "the model's float32 cache at its full context would pass 256 MiB (ChatGLM-6B and up), else "
                    + "f32; f32 for logits.")
    void setKvCache(String v) {
        kvCache = parseKv(v, spec);
    }

    static KvCache.Precision parseKv(String v, CommandSpec spec) {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "f32", "float32", "fp32" -> KvCache.Precision.F32;
            case "f16", "float16", "fp16", "half" -> KvCache.Precision.F16;
            default -> throw new ParameterException(spec.commandLine(), "--kv-cache must be f32 or f16, got '" + v + "'");
        };
    }

    /**
     * Chat, generate and serve: an fp16 cache for real-size models unless told otherwise (the 2048-token INT4
     * memory budget), float32 where it costs little (small models keep the reference's exact outputs).
     */
    LoadOptions apply(LoadOptions o) {
        return apply(o, KvCache.Precision.AUTO);
    }

    LoadOptions apply(LoadOptions o, KvCache.Precision defaultKv) {
        return o.withQuantize(quantize).withEmbeddings(embeddings).withKvCache(kvCache != null ? kvCache : defaultKv);
    }

    /** picocli converter: {@link QuantFormat#parse} with its one-line error. */
    static final class QuantFormatConverter implements ITypeConverter<QuantFormat> {
        @Override
        public QuantFormat convert(String value) {
            try {
                return QuantFormat.parse(value);
            } catch (org.chatglm4j.ChatGlmException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
