package org.chatglm4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The two architectures of the ChatGLM family, chosen once at load (as llama.cpp chooses a graph builder per
 * architecture): {@link #CHATGLM} (ChatGLM-6B: {@code position_encoding_2d}, {@code inner_hidden_size},
 * {@code ice_text.model}) and {@link #GLM2} (ChatGLM2-6B, ChatGLM3-6B, CodeGeeX2-6B: {@code multi_query_attention},
 * {@code rmsnorm}, {@code padded_vocab_size}, {@code kv_channels}, {@code tokenizer.model}).
 */
public enum Architecture {
    /** ChatGLM-6B: rotary positions (2D by default), LayerNorm, GELU MLP, one key/value per head. */
    CHATGLM,
    /**
     * ChatGLM2-6B, ChatGLM3-6B and CodeGeeX2-6B: 1D rotary on half a head, RMSNorm, SwiGLU MLP, multi-query
     * attention.
     */
    GLM2;

    private static final String[] GLM2_KEYS = {"multi_query_attention", "rmsnorm", "padded_vocab_size", "kv_channels"};
    /** Real configs are a few KB. */
    private static final long MAX_CONFIG_BYTES = 1L << 20;

    /** The architecture a parsed {@code config.json} describes: any of the v2 keys means v2. */
    public static Architecture of(JsonNode config) {
        for (String k : GLM2_KEYS) if (config.has(k)) return GLM2;
        return CHATGLM;
    }

    /**
     * The architecture of a model or tokenizer folder: its {@code config.json} when there is one, else its tokenizer
     * file ({@code tokenizer.model} without {@code ice_text.model} means v2).
     */
    public static Architecture ofFolder(Path folder) {
        if (!Files.isDirectory(folder)) return CHATGLM;
        Path config = folder.resolve("config.json");
        if (Files.isRegularFile(config)) {
            try {
                if (Files.size(config) > MAX_CONFIG_BYTES) {
                    throw new ChatGlmException(config + ": too large for a model config");
                }
                JsonNode root = new ObjectMapper().readTree(config.toFile());
                if (root != null && root.isObject()) return of(root);
            } catch (IOException e) {
                // fall through: the config loader reports the unreadable file with its own message
            }
        }
        boolean v2 = Files.isRegularFile(folder.resolve("tokenizer.model"));
        boolean v1 = Files.isRegularFile(folder.resolve("ice_text.model"));
        return v2 && !v1 ? GLM2 : CHATGLM;
    }
}
