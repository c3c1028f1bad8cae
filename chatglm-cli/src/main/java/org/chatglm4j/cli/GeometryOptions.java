package org.chatglm4j.cli;

import org.chatglm4j.model.Architecture;
import org.chatglm4j.model.ChatGlmConfig;
import picocli.CommandLine.Option;

/**
 * A model geometry: by default the real ChatGLM-6B's, with {@code --arch chatglm2} the real ChatGLM2-6B's (also
 * ChatGLM3-6B's and CodeGeeX2-6B's); each size option overrides one number.
 */
public final class GeometryOptions {
    @Option(names = "--arch", paramLabel = "chatglm|chatglm2", defaultValue = "chatglm",
            description = "Architecture: chatglm (ChatGLM-6B) or chatglm2 (ChatGLM2/3-6B, CodeGeeX2-6B). "
                    + "Default: ${DEFAULT-VALUE}.")
    String arch;

    @Option(names = "--layers", description = "Layers. Default: 28.")
    Integer layers;

    @Option(names = "--hidden", description = "Hidden size. Default: 4096.")
    Integer hidden;

    @Option(names = "--heads", description = "Attention heads. Default: 32.")
    Integer heads;

    @Option(names = "--inner", description = "MLP inner size (ffn_hidden_size). Default: 16384; chatglm2 13696.")
    Integer inner;

    @Option(names = "--vocab", description = "Vocabulary size. Default: 130528; chatglm2 65024.")
    Integer vocab;

    @Option(names = "--groups", description = "chatglm2: key/value groups (multi_query_group_num). Default: 2.")
    Integer groups;

    @Option(names = "--kv-channels", description = "chatglm2: head size (kv_channels). Default: 128.")
    Integer kvChannels;

    ChatGlmConfig config() {
        try {
            return switch (arch.strip().toLowerCase(java.util.Locale.ROOT)) {
                case "chatglm", "chatglm-6b", "glm" -> chatglm();
                case "chatglm2", "chatglm3", "glm2", "glm3", "codegeex2" -> chatglm2();
                default -> throw new org.chatglm4j.ChatGlmException("unknown --arch " + arch
                        + ": expected chatglm or chatglm2");
            };
        } catch (IllegalArgumentException e) {
            throw new org.chatglm4j.ChatGlmException("bad geometry: " + e.getMessage());
        }
    }

    private static int or(Integer v, int dflt) {
        return v != null ? v : dflt;
    }

    private ChatGlmConfig chatglm() {
        ChatGlmConfig r = ChatGlmConfig.chatglm6b();
        int v = or(vocab, r.vocabSize());
        // the special tokens keep their real ids, or sit at the end of a smaller vocabulary
        int base = v > r.eosTokenId() ? r.maskTokenId() : v - 8;
        return new ChatGlmConfig(v, or(hidden, r.hiddenSize()), or(layers, r.numLayers()),
                or(heads, r.numAttentionHeads()), or(inner, r.innerHiddenSize()), r.layernormEpsilon(),
                base + 4, base + 5, base, base + 1, r.padTokenId(), r.maxSequenceLength(), true, 0, 0, false,
                "float16");
    }

    private ChatGlmConfig chatglm2() {
        ChatGlmConfig r = ChatGlmConfig.chatglm2_6b();
        return new ChatGlmConfig(or(vocab, r.vocabSize()), or(hidden, r.hiddenSize()), or(layers, r.numLayers()),
                or(heads, r.numAttentionHeads()), or(inner, r.innerHiddenSize()), r.layernormEpsilon(),
                r.bosTokenId(), r.eosTokenId(), r.maskTokenId(), r.gmaskTokenId(), r.padTokenId(),
                r.maxSequenceLength(), false, 0, 0, false, "float16", Architecture.GLM2,
                or(kvChannels, r.kvChannels()), or(groups, r.multiQueryGroupNum()));
    }
}
