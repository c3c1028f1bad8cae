package org.chatglm4j.cglm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.LayerWeights;
import org.chatglm4j.model.Linear;
import org.chatglm4j.tensor.BF16Matrix;
import org.chatglm4j.tensor.F16Matrix;
import org.chatglm4j.tensor.F32Matrix;
import org.chatglm4j.tensor.Int4Matrix;
import org.chatglm4j.tensor.Int8Matrix;
import org.chatglm4j.tensor.Q4Matrix;
import org.chatglm4j.tensor.Q8Matrix;
import org.chatglm4j.tensor.WeightMatrix;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.chatglm4j.tokenizer.Glm2Tokenizer;
import org.chatglm4j.tokenizer.SentencePieceModel;
import org.chatglm4j.tokenizer.SentencePieceProcessor;
import org.chatglm4j.tokenizer.TokenizerConfig;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * A {@code .cglm} file opened for use: one read-only mapping, a parsed header, weights that point into the
 * mapping (nothing is copied but the small LayerNorm vectors), and the tokenizer. Loading costs about the time
 * it takes to map the file and read its header; pages come in as the first forward pass touches them.
 */
public final class CglmModel implements AutoCloseable {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final Arena arena;
    private final MemorySegment map;
    private final JsonNode header;
    private final ChatGlmConfig config;
    private final ChatGlmTokenizer tokenizer;
    private final ChatGlmWeights weights;
    private final Map<String, JsonNode> tensors = new HashMap<>();

    private CglmModel(Path file) {
        this.file = file;
        this.arena = Arena.ofShared();
        try {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                this.map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            }
            this.header = readHeader();
            this.config = ChatGlmConfig.parse(header.path("config").toString(), file + " (config)");
            this.tokenizer = config.isGlm2() ? null : readTokenizer();
            for (JsonNode t : header.path("tensors")) tensors.put(t.path("name").asText(), t);
            this.weights = readWeights();
        } catch (NoSuchFileException e) {
            arena.close();
            throw new ChatGlmException(file + ": no such file");
        } catch (IOException e) {
            arena.close();
            throw new ChatGlmException(file + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e instanceof ChatGlmException ? e : new ChatGlmException(file + ": " + e.getMessage(), e);
        }
    }

    /** Maps a {@code .cglm} file and reads its header and tokenizer. */
    public static CglmModel open(Path file) {
        return new CglmModel(file);
    }

    /** The model configuration stored in the file. */
    public ChatGlmConfig config() {
        return config;
    }

    /** ChatGLM-6B's tokenizer; null in a ChatGLM2/3 file (see {@link #glm2Tokenizer}). */
    public ChatGlmTokenizer tokenizer() {
        return tokenizer;
    }

    /** The chat format recorded when a ChatGLM2/3 file was converted ({@code glm2}/{@code glm3}), or null. */
    public String chatFormat() {
        JsonNode f = header.path("tokenizer_config").path("chat_format");
        return f.isTextual() ? f.asText() : null;
    }

    /** A ChatGLM2/3 file's tokenizer, with the role tokens when {@code roleTokens} (v3). */
    public Glm2Tokenizer glm2Tokenizer(boolean roleTokens) {
        if (!config.isGlm2()) throw bad("not a ChatGLM2/3 model");
        MemorySegment bytes = slice(header.path("tokenizer"), "the tokenizer");
        SentencePieceModel spm = SentencePieceModel.parse(bytes.toArray(ValueLayout.JAVA_BYTE), file + " (tokenizer)");
        boolean encodeSpecial = header.path("tokenizer_config").path("encode_special_tokens").asBoolean(false);
        return new Glm2Tokenizer(new SentencePieceProcessor(spm), roleTokens, encodeSpecial && roleTokens);
    }

    /** The weights, mapped from the file. */
    public ChatGlmWeights weights() {
        return weights;
    }

    /** The quantization the file was written with ("q4", "int8", "none", ...). */
    public String quantization() {
        return header.path("quantization").asText("none");
    }

    /** Size of the file. */
    public long fileBytes() {
        return map.byteSize();
    }

    private ChatGlmException bad(String what) {
        return new ChatGlmException(file + ": " + what);
    }

    private JsonNode readHeader() throws IOException {
        if (map.byteSize() < CglmFormat.PREAMBLE) throw bad("too short for a .cglm model (" + map.byteSize() + " bytes)");
        byte[] magic = map.asSlice(0, 4).toArray(ValueLayout.JAVA_BYTE);
        if (!Arrays.equals(magic, CglmFormat.MAGIC)) throw bad("not a .cglm model (bad magic number)");
        int version = map.get(INT, 4);
        if (version != CglmFormat.VERSION) {
            throw bad("format version " + version + " is not supported (this chatglm4j reads version "
                    + CglmFormat.VERSION + "); convert the model again");
        }
        long n = map.get(LONG, 8);
        if (n <= 0 || n > CglmFormat.MAX_HEADER || CglmFormat.PREAMBLE + n > map.byteSize()) {
            throw bad("header length " + n + " does not fit in the file (truncated or corrupt)");
        }
        byte[] json = map.asSlice(CglmFormat.PREAMBLE, n).toArray(ValueLayout.JAVA_BYTE);
        CRC32C c = new CRC32C();
        c.update(json);
        if ((int) c.getValue() != map.get(INT, 16)) throw bad("header checksum mismatch (corrupt file)");
        JsonNode h = new ObjectMapper().readTree(json);
        if (h == null || !h.isObject() || !h.has("tensors") || !h.has("config")) throw bad("header is incomplete");
        return h;
    }

    /** A part's bytes, bounds-checked against the file. */
    private MemorySegment slice(JsonNode part, String what) {
        long offset = part.path("offset").asLong(-1), length = part.path("length").asLong(-1);
        if (offset < 0 || length < 0 || offset % CglmFormat.ALIGNMENT != 0 || offset + length > map.byteSize()) {
            throw bad(what + " lies outside the file (offset " + offset + ", length " + length
                    + ", file " + map.byteSize() + " bytes): truncated or corrupt");
        }
        return map.asSlice(offset, length);
    }

    private ChatGlmTokenizer readTokenizer() {
        MemorySegment bytes = slice(header.path("tokenizer"), "the tokenizer");
        SentencePieceModel spm = SentencePieceModel.parse(bytes.toArray(ValueLayout.JAVA_BYTE), file + " (tokenizer)");
        JsonNode t = header.path("tokenizer_config");
        TokenizerConfig d = TokenizerConfig.defaults();
        TokenizerConfig cfg = new TokenizerConfig(
                t.path("bos_token").asText(d.bosToken()), t.path("eos_token").asText(d.eosToken()),
                t.path("end_token").asText(d.endToken()), t.path("mask_token").asText(d.maskToken()),
                t.path("gmask_token").asText(d.gmaskToken()), t.path("pad_token").asText(d.padToken()),
                t.path("unk_token").asText(d.unkToken()), t.path("remove_space").asBoolean(false),
                t.path("do_lower_case").asBoolean(false), t.path("num_image_tokens").asInt(0), d.maxBlankLength());
        return new ChatGlmTokenizer(new SentencePieceProcessor(spm), cfg);
    }

    private JsonNode tensor(String name) {
        JsonNode t = tensors.get(name);
        if (t == null) throw bad("missing tensor " + name);
        return t;
    }

    private MemorySegment part(JsonNode t, String role) {
        for (JsonNode p : t.path("parts")) if (p.path("role").asText().equals(role)) return slice(p, t.path("name").asText());
        throw bad("tensor " + t.path("name").asText() + " has no " + role + " part");
    }

    private float[] vector(String name, int n) {
        JsonNode t = tensor(name);
        MemorySegment s = part(t, "data");
        if (!t.path("kind").asText().equals("vector") || s.byteSize() != 4L * n) {
            throw bad("tensor " + name + " should be a float vector of " + n);
        }
        return s.toArray(FLOAT);
    }

    private WeightMatrix matrix(String name, int rows, int cols) {
        JsonNode t = tensor(name);
        JsonNode shape = t.path("shape");
        if (shape.size() != 2 || shape.get(0).asLong() != rows || shape.get(1).asLong() != cols) {
            throw bad("tensor " + name + " has shape " + shape + ", expected [" + rows + ", " + cols + "]");
        }
        try {
            return switch (t.path("kind").asText()) {
                case "f32" -> new F32Matrix(part(t, "data"), rows, cols);
                case "f16" -> new F16Matrix(part(t, "data"), rows, cols);
                case "bf16" -> new BF16Matrix(part(t, "data"), rows, cols);
                case "int8" -> new Int8Matrix(part(t, "quants"), part(t, "scales").toArray(FLOAT), rows, cols);
                case "int4" -> new Int4Matrix(part(t, "quants"), part(t, "scales").toArray(FLOAT), rows, cols);
                case "q8" -> new Q8Matrix(part(t, "quants"), part(t, "scales"), rows, cols);
                case "q4" -> new Q4Matrix(part(t, "quants"), part(t, "scales"), rows, cols);
                default -> throw bad("tensor " + name + " has unknown kind '" + t.path("kind").asText() + "'");
            };
        } catch (IllegalArgumentException e) {
            throw bad("tensor " + name + ": " + e.getMessage());
        }
    }

    private Linear linear(String prefix, int rows, int cols) {
        return new Linear(matrix(prefix + ".weight", rows, cols), vector(prefix + ".bias", rows));
    }

    private ChatGlmWeights readWeights() {
        if (config.isGlm2()) return readWeightsGlm2();
        int h = config.hiddenSize(), inner = config.innerHiddenSize();
        WeightMatrix emb = matrix("transformer.word_embeddings.weight", config.vocabSize(), h);
        LayerWeights[] layers = new LayerWeights[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "transformer.layers." + i + ".";
            layers[i] = new LayerWeights(
                    vector(p + "input_layernorm.weight", h), vector(p + "input_layernorm.bias", h),
                    linear(p + "attention.query_key_value", 3 * h, h), linear(p + "attention.dense", h, h),
                    vector(p + "post_attention_layernorm.weight", h), vector(p + "post_attention_layernorm.bias", h),
                    linear(p + "mlp.dense_h_to_4h", inner, h), linear(p + "mlp.dense_4h_to_h", h, inner));
        }
        return new ChatGlmWeights(config, emb, layers, vector("transformer.final_layernorm.weight", h),
                vector("transformer.final_layernorm.bias", h), emb);
    }

    private ChatGlmWeights readWeightsGlm2() {
        int h = config.hiddenSize(), f = config.innerHiddenSize(), p = config.projectionSize();
        WeightMatrix emb = matrix("transformer.embedding.word_embeddings.weight", config.vocabSize(), h);
        LayerWeights[] layers = new LayerWeights[config.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String pre = "transformer.encoder.layers." + i + ".";
            layers[i] = new LayerWeights(
                    vector(pre + "input_layernorm.weight", h), null,
                    linear(pre + "self_attention.query_key_value", config.qkvSize(), h),
                    new Linear(matrix(pre + "self_attention.dense.weight", h, p), null),
                    vector(pre + "post_attention_layernorm.weight", h), null,
                    new Linear(matrix(pre + "mlp.dense_h_to_4h.weight", 2 * f, h), null),
                    new Linear(matrix(pre + "mlp.dense_4h_to_h.weight", h, f), null));
        }
        return new ChatGlmWeights(config, emb, layers, vector("transformer.encoder.final_layernorm.weight", h), null,
                matrix("transformer.output_layer.weight", config.vocabSize(), h));
    }

    /** Checks every data part against its CRC32C (reads the whole file); throws naming the first bad part. */
    public void verify() {
        JsonNode tok = header.path("tokenizer");
        check(slice(tok, "the tokenizer"), tok.path("crc32c").asLong(), "the tokenizer");
        for (JsonNode t : header.path("tensors")) {
            for (JsonNode p : t.path("parts")) {
                String what = t.path("name").asText() + " (" + p.path("role").asText() + ")";
                check(slice(p, what), p.path("crc32c").asLong(), what);
            }
        }
    }

    private void check(MemorySegment s, long want, String what) {
        if (CglmWriter.crc(s) != want) throw bad("checksum mismatch in " + what + " (corrupt file)");
    }

    @Override
    public void close() {
        arena.close();
    }
}
