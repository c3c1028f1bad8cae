package org.chatglm4j.cli;

import org.chatglm4j.model.ChatGlmConfig;
import picocli.CommandLine.Option;

/** A model geometry, by default the real ChatGLM-6B's. */
public final class GeometryOptions {
    @Option(names = "--layers", defaultValue = "28", description = "Layers. Default: ${DEFAULT-VALUE}.")
    int layers;

    @Option(names = "--hidden", defaultValue = "4096", description = "Hidden size. Default: ${DEFAULT-VALUE}.")
    int hidden;

    @Option(names = "--heads", defaultValue = "32", description = "Attention heads. Default: ${DEFAULT-VALUE}.")
    int heads;

    @Option(names = "--inner", defaultValue = "16384", description = "MLP inner size. Default: ${DEFAULT-VALUE}.")
    int inner;

    @Option(names = "--vocab", defaultValue = "130528", description = "Vocabulary size. Default: ${DEFAULT-VALUE}.")
    int vocab;

    ChatGlmConfig config() {
        ChatGlmConfig r = ChatGlmConfig.chatglm6b();
        // the special tokens keep their real ids, or sit at the end of a smaller vocabulary
        int base = vocab > r.eosTokenId() ? r.maskTokenId() : vocab - 8;
        try {
            return new ChatGlmConfig(vocab, hidden, layers, heads, inner, r.layernormEpsilon(),
                    base + 4, base + 5, base, base + 1, r.padTokenId(), r.maxSequenceLength(), true, 0, 0, false,
                    "float16");
        } catch (IllegalArgumentException e) {
            throw new org.chatglm4j.ChatGlmException("bad geometry: " + e.getMessage());
        }
    }
}
