package org.chatglm4j.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The model's {@code config.json}. Keys absent from the file take the defaults of the reference
 * {@code ChatGLMConfig} class, as Hugging Face does.
 *
 * @param preSeqLen        P-Tuning v2 prefix length, 0 when there is no prefix encoder
 * @param quantizationBit  0, 4 or 8: the linears of the blocks are stored quantized (reference layout)
 */
public record ChatGlmConfig(
        int vocabSize,
        int hiddenSize,
        int numLayers,
        int numAttentionHeads,
        int innerHiddenSize,
        float layernormEpsilon,
        int bosTokenId,
        int eosTokenId,
        int maskTokenId,
        int gmaskTokenId,
        int padTokenId,
        int maxSequenceLength,
        boolean positionEncoding2d,
        int quantizationBit,
        int preSeqLen,
        boolean prefixProjection,
        String torchDtype,
        Architecture architecture,
        int kvChannels,
        int multiQueryGroupNum) {

    /**
     * Checks the geometry the kernels rely on (head size, rotary dimension, key/value groups); throws {@link
     * ChatGlmException} with the offending {@code config.json} key otherwise.
     */
    public ChatGlmConfig {
        require(vocabSize > 0, "vocab_size must be positive");
        require(architecture != null, "architecture is required");
        if (architecture == Architecture.CHATGLM) {
            require(hiddenSize > 0 && numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0,
                    "hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numAttentionHeads);
            int hd = hiddenSize / numAttentionHeads;
            // 2D rotary rotates each half of a head by its own position, each half as pairs: needs hd % 4 == 0
            require(positionEncoding2d ? hd % 4 == 0 : hd % 2 == 0,
                    "head size " + hd + " does not allow " + (positionEncoding2d ? "2D" : "1D") + " rotary embeddings");
            require(kvChannels == hd && multiQueryGroupNum == numAttentionHeads,
                    "ChatGLM-6B has one key/value per head");
        } else {
            require(hiddenSize > 0 && numAttentionHeads > 0, "hidden_size and num_attention_heads must be positive");
            // rotary on the first half of a head, as interleaved pairs; the cache's kernels read 8 floats at a time
            require(kvChannels > 0 && kvChannels % 8 == 0, "kv_channels must be a positive multiple of 8, got "
                    + kvChannels);
            require(multiQueryGroupNum > 0 && numAttentionHeads % multiQueryGroupNum == 0,
                    "num_attention_heads " + numAttentionHeads + " is not a multiple of multi_query_group_num "
                            + multiQueryGroupNum);
            require(!positionEncoding2d, "ChatGLM2 has 1D positions");
        }
        require(numLayers > 0, "num_layers must be positive");
        require(innerHiddenSize > 0, "inner_hidden_size must be positive");
        require(layernormEpsilon > 0, "layernorm_epsilon must be positive");
        require(quantizationBit == 0 || quantizationBit == 4 || quantizationBit == 8,
                "quantization_bit must be 0, 4 or 8, got " + quantizationBit);
        require(preSeqLen >= 0, "pre_seq_len must not be negative");
        for (int id : new int[]{bosTokenId, eosTokenId, maskTokenId, gmaskTokenId, padTokenId}) {
            require(id >= 0 && id < vocabSize, "special token id " + id + " is outside the vocabulary of " + vocabSize);
        }
    }

    /** A ChatGLM-6B (v1) configuration: one key/value per head. */
    public ChatGlmConfig(int vocabSize, int hiddenSize, int numLayers, int numAttentionHeads, int innerHiddenSize,
                         float layernormEpsilon, int bosTokenId, int eosTokenId, int maskTokenId, int gmaskTokenId,
                         int padTokenId, int maxSequenceLength, boolean positionEncoding2d, int quantizationBit,
                         int preSeqLen, boolean prefixProjection, String torchDtype) {
        this(vocabSize, hiddenSize, numLayers, numAttentionHeads, innerHiddenSize, layernormEpsilon, bosTokenId,
                eosTokenId, maskTokenId, gmaskTokenId, padTokenId, maxSequenceLength, positionEncoding2d,
                quantizationBit, preSeqLen, prefixProjection, torchDtype, Architecture.CHATGLM,
                numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0, numAttentionHeads);
    }

    private static void require(boolean ok, String what) {
        if (!ok) throw new IllegalArgumentException(what);
    }

    /** Size of one head's query, key and value ({@code kv_channels} in v2). */
    public int headSize() {
        return architecture == Architecture.GLM2 ? kvChannels : hiddenSize / numAttentionHeads;
    }

    /** Key/value heads held by the cache: every head in v1, {@code multi_query_group_num} in v2. */
    public int kvGroups() {
        return multiQueryGroupNum;
    }

    /** Width of the attention output, heads × head size (= hidden size in v1). */
    public int projectionSize() {
        return numAttentionHeads * headSize();
    }

    /** Output rows of the fused query/key/value linear: heads·d + 2·groups·d ({@code 3·h} in v1). */
    public int qkvSize() {
        return projectionSize() + 2 * kvGroups() * headSize();
    }

    /** Floats one cached position holds per layer for keys or for values: groups × head size. */
    public int kvWidth() {
        return kvGroups() * headSize();
    }

    /** True for the v2 architecture (ChatGLM2/3, CodeGeeX2). */
    public boolean isGlm2() {
        return architecture == Architecture.GLM2;
    }

    /**
     * Size of the rotary embedding: half a head in 2D mode (each half rotates by its own position id), the first
     * half of a head in v2, the whole head in v1 1D mode.
     */
    public int rotaryDim() {
        return positionEncoding2d || isGlm2() ? headSize() / 2 : headSize();
    }

    /**
     * This configuration with a P-Tuning v2 prefix of {@code preSeqLen} positions (0 for none), with or without the
     * prefix MLP.
     */
    public ChatGlmConfig withPrefix(int preSeqLen, boolean prefixProjection) {
        return new ChatGlmConfig(vocabSize, hiddenSize, numLayers, numAttentionHeads, innerHiddenSize,
                layernormEpsilon, bosTokenId, eosTokenId, maskTokenId, gmaskTokenId, padTokenId, maxSequenceLength,
                positionEncoding2d, quantizationBit, preSeqLen, prefixProjection, torchDtype, architecture,
                kvChannels, multiQueryGroupNum);
    }

    /** This configuration with its block linears stored quantized to {@code bits} (0, 4 or 8). */
    public ChatGlmConfig withQuantizationBit(int bits) {
        return new ChatGlmConfig(vocabSize, hiddenSize, numLayers, numAttentionHeads, innerHiddenSize,
                layernormEpsilon, bosTokenId, eosTokenId, maskTokenId, gmaskTokenId, padTokenId, maxSequenceLength,
                positionEncoding2d, bits, preSeqLen, prefixProjection, torchDtype, architecture, kvChannels,
                multiQueryGroupNum);
    }

    /** The config as config.json spells it (what {@link #parse} reads back). */
    public java.util.Map<String, Object> toJson() {
        if (isGlm2()) return toJsonGlm2();
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("model_type", "chatglm");
        m.put("vocab_size", vocabSize);
        m.put("hidden_size", hiddenSize);
        m.put("num_layers", numLayers);
        m.put("num_attention_heads", numAttentionHeads);
        m.put("inner_hidden_size", innerHiddenSize);
        m.put("layernorm_epsilon", Double.parseDouble(Float.toString(layernormEpsilon)));
        m.put("bos_token_id", bosTokenId);
        m.put("eos_token_id", eosTokenId);
        m.put("mask_token_id", maskTokenId);
        m.put("gmask_token_id", gmaskTokenId);
        m.put("pad_token_id", padTokenId);
        m.put("max_sequence_length", maxSequenceLength);
        m.put("position_encoding_2d", positionEncoding2d);
        m.put("quantization_bit", quantizationBit);
        if (preSeqLen > 0) {
            m.put("pre_seq_len", preSeqLen);
            m.put("prefix_projection", prefixProjection);
        }
        m.put("torch_dtype", torchDtype);
        return m;
    }

    private java.util.Map<String, Object> toJsonGlm2() {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("model_type", "chatglm");
        m.put("add_bias_linear", false);
        m.put("add_qkv_bias", true);
        m.put("apply_residual_connection_post_layernorm", false);
        m.put("ffn_hidden_size", innerHiddenSize);
        m.put("hidden_size", hiddenSize);
        m.put("kv_channels", kvChannels);
        m.put("layernorm_epsilon", Double.parseDouble(Float.toString(layernormEpsilon)));
        m.put("multi_query_attention", true);
        m.put("multi_query_group_num", multiQueryGroupNum);
        m.put("num_attention_heads", numAttentionHeads);
        m.put("num_layers", numLayers);
        m.put("padded_vocab_size", vocabSize);
        m.put("post_layer_norm", true);
        m.put("rmsnorm", true);
        m.put("seq_length", maxSequenceLength);
        m.put("quantization_bit", quantizationBit);
        if (preSeqLen > 0) {
            m.put("pre_seq_len", preSeqLen);
            m.put("prefix_projection", prefixProjection);
        }
        m.put("torch_dtype", torchDtype);
        m.put("eos_token_id", eosTokenId);
        m.put("pad_token_id", padTokenId);
        return m;
    }

    /**
     * The real THUDM/chatglm2-6b geometry (ChatGLM3-6B and CodeGeeX2-6B are the same): hidden 4096, 28 layers, 32
     * heads × 128 sharing 2 key/value groups, ffn 13696, 65024 rows, 32K context.
     */
    public static ChatGlmConfig chatglm2_6b() {
        return new ChatGlmConfig(65024, 4096, 28, 32, 13696, 1e-5f, 1, 2, 0, 0, 0, 32768, false, 0, 0, false,
                "float16", Architecture.GLM2, 128, 2);
    }

    /** The real THUDM/chatglm-6b geometry (used by benchmarks and the random-weight generator). */
    public static ChatGlmConfig chatglm6b() {
        return new ChatGlmConfig(130528, 4096, 28, 32, 16384, 1e-5f, 130004, 130005, 130000, 130001, 3, 2048,
                true, 0, 0, false, "float16");
    }

    /**
     * Reads and parses a {@code config.json}; throws {@link ChatGlmException} if it is missing, unreadable or
     * invalid.
     */
    public static ChatGlmConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ChatGlmException(file + ": not found (a model folder needs config.json)");
        } catch (IOException e) {
            throw new ChatGlmException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /**
     * Parses the text of a {@code config.json} ({@code source} names it in errors), with the reference's defaults for
     * absent keys, for either architecture.
     */
    public static ChatGlmConfig parse(String json, String source) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new ChatGlmException(source + ": invalid JSON: " + e.getOriginalMessage().lines().findFirst().orElse(""), e);
        }
        if (root == null || !root.isObject()) throw new ChatGlmException(source + ": expected a JSON object");
        if (root.has("model_type") && !root.get("model_type").asText().equals("chatglm")) {
            throw new ChatGlmException(source + ": model_type is '" + root.get("model_type").asText()
                    + "', chatglm4j runs ChatGLM-6B (model_type 'chatglm')");
        }
        Reader r = new Reader(root, source);
        if (Architecture.of(root) == Architecture.GLM2) return parseGlm2(r, root, source);
        try {
            return new ChatGlmConfig(
                    r.i("vocab_size", 150528),
                    r.i("hidden_size", 4096),
                    r.i("num_layers", 28),
                    r.i("num_attention_heads", 32),
                    r.i("inner_hidden_size", 16384),
                    (float) r.d("layernorm_epsilon", 1e-5),
                    r.i("bos_token_id", 150004),
                    r.i("eos_token_id", 150005),
                    r.i("mask_token_id", 150000),
                    r.i("gmask_token_id", 150001),
                    r.i("pad_token_id", 0),
                    r.i("max_sequence_length", 2048),
                    r.b("position_encoding_2d", true),
                    r.i("quantization_bit", 0),
                    r.i("pre_seq_len", 0),
                    r.b("prefix_projection", false),
                    root.path("torch_dtype").asText("float16"));
        } catch (IllegalArgumentException e) {
            throw new ChatGlmException(source + ": " + e.getMessage(), e);
        }
    }

    /**
     * ChatGLM2/3's keys, with the reference ChatGLMConfig defaults. Switches of the reference that the released
     * models never change are accepted only at their released values (anything else is a different network).
     */
    private static ChatGlmConfig parseGlm2(Reader r, JsonNode root, String source) {
        expectFlag(r, "rmsnorm", true, source);
        expectFlag(r, "post_layer_norm", true, source);
        expectFlag(r, "add_bias_linear", false, source);
        expectFlag(r, "add_qkv_bias", false, source, true);
        expectFlag(r, "apply_residual_connection_post_layernorm", false, source);
        boolean mqa = r.b("multi_query_attention", false);
        int heads = r.i("num_attention_heads", 32);
        int hidden = r.i("hidden_size", 4096);
        int kv = r.i("kv_channels", 128);
        try {
            return new ChatGlmConfig(
                    r.i("padded_vocab_size", 65024),
                    hidden,
                    r.i("num_layers", 28),
                    heads,
                    r.i("ffn_hidden_size", 13696),
                    (float) r.d("layernorm_epsilon", 1e-5),
                    1,
                    eosOf(root.get("eos_token_id"), source),
                    0, 0,
                    r.i("pad_token_id", 0),
                    r.i("seq_length", 2048),
                    false,
                    r.i("quantization_bit", 0),
                    r.i("pre_seq_len", 0),
                    r.b("prefix_projection", false),
                    root.path("torch_dtype").asText("float16"),
                    Architecture.GLM2, kv, mqa ? r.i("multi_query_group_num", 1) : heads);
        } catch (IllegalArgumentException e) {
            throw new ChatGlmException(source + ": " + e.getMessage(), e);
        }
    }

    /** {@code eos_token_id}: an int, or a list whose first entry is the model's eos (absent: 2, {@code </s>}). */
    private static int eosOf(JsonNode n, String source) {
        if (n == null || n.isNull()) return 2;
        if (n.isArray() && !n.isEmpty()) n = n.get(0);
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 0) {
            throw new ChatGlmException(source + ": eos_token_id must be a token id, got " + n);
        }
        return n.intValue();
    }

    private static void expectFlag(Reader r, String key, boolean value, String source) {
        expectFlag(r, key, value, source, value);
    }

    /** {@code key} must be {@code required}; {@code dflt} is the reference default when it is absent. */
    private static void expectFlag(Reader r, String key, boolean dflt, String source, boolean required) {
        if (r.b(key, dflt) != required) {
            throw new ChatGlmException(source + ": " + key + " = " + !required + " is not supported (ChatGLM2-6B, "
                    + "ChatGLM3-6B and CodeGeeX2-6B use " + required + ")");
        }
    }

    private record Reader(JsonNode root, String source) {
        int i(String key, int dflt) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) return dflt;
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw new ChatGlmException(source + ": " + key + " must be an integer, got " + n);
            }
            return n.intValue();
        }

        double d(String key, double dflt) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) return dflt;
            if (!n.isNumber()) throw new ChatGlmException(source + ": " + key + " must be a number, got " + n);
            return n.doubleValue();
        }

        boolean b(String key, boolean dflt) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) return dflt;
            if (!n.isBoolean()) throw new ChatGlmException(source + ": " + key + " must be true or false, got " + n);
            return n.booleanValue();
        }
    }
}
