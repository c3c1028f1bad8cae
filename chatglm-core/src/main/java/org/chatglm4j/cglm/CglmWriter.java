package org.chatglm4j.cglm;

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
import org.chatglm4j.tokenizer.TokenizerConfig;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.zip.CRC32C;

/**
 * Writes a {@code .cglm} file (see {@link CglmFormat}) from loaded weights. Writes to a temporary file next to
 * the target and renames it when complete: a failed or interrupted conversion never leaves a half-written model
 * under the final name.
 */
public final class CglmWriter {
    private record Part(String role, MemorySegment data) {
    }

    private record Entry(String name, String kind, long[] shape, List<Part> parts) {
    }

    private CglmWriter() {
    }

    /**
     * Writes a ChatGLM-6B model to {@code out} as a {@code .cglm} file.
     *
     * @param tokenizerModel the {@code ice_text.model} bytes
     * @param progress       receives the number of bytes written so far (may be null)
     */
    public static void write(Path out, ChatGlmConfig cfg, byte[] tokenizerModel, TokenizerConfig tokenizerConfig,
                             ChatGlmWeights weights, String quantization, LongConsumer progress) {
        write(out, cfg, tokenizerModel, tokenizerJson(tokenizerConfig), weights, quantization, progress);
    }

    /**
     * A ChatGLM2/3 model: the {@code tokenizer.model} bytes, and the tokenizer's settings in the header
     * ({@code kind} "glm2", {@code chat_format} glm2/glm3 as decided at conversion, {@code encode_special_tokens}).
     */
    public static void writeGlm2(Path out, ChatGlmConfig cfg, byte[] tokenizerModel, String chatFormat,
                                 boolean encodeSpecialTokens, ChatGlmWeights weights, String quantization,
                                 LongConsumer progress) {
        Map<String, Object> tok = new LinkedHashMap<>();
        tok.put("kind", "glm2");
        tok.put("chat_format", chatFormat);
        tok.put("encode_special_tokens", encodeSpecialTokens);
        write(out, cfg, tokenizerModel, tok, weights, quantization, progress);
    }

    private static void write(Path out, ChatGlmConfig cfg, byte[] tokenizerModel, Map<String, Object> tokenizerJson,
                              ChatGlmWeights weights, String quantization, LongConsumer progress) {
        List<Entry> entries = entries(weights);
        // layout: parts after the header, each aligned; the header is sized by writing it with offsets, twice
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("format_version", CglmFormat.VERSION);
        header.put("created_by", "chatglm4j");
        header.put("quantization", quantization);
        header.put("config", cfg.toJson());
        header.put("tokenizer_config", tokenizerJson);
        long[] crcs = new long[countParts(entries) + 1];
        crcs[0] = crc(MemorySegment.ofArray(tokenizerModel));
        int p = 1;
        for (Entry e : entries) for (Part part : e.parts) crcs[p++] = crc(part.data);
        byte[] json = null;
        long dataStart = 0;
        for (int attempt = 0; attempt < 3; attempt++) {
            long offset = dataStart;
            Map<String, Object> tok = new LinkedHashMap<>();
            tok.put("offset", offset);
            tok.put("length", tokenizerModel.length);
            tok.put("crc32c", crcs[0]);
            header.put("tokenizer", tok);
            offset = CglmFormat.align(offset + tokenizerModel.length);
            List<Object> tensors = new ArrayList<>();
            p = 1;
            for (Entry e : entries) {
                List<Object> parts = new ArrayList<>();
                for (Part part : e.parts) {
                    Map<String, Object> pm = new LinkedHashMap<>();
                    pm.put("role", part.role);
                    pm.put("offset", offset);
                    pm.put("length", part.data.byteSize());
                    pm.put("crc32c", crcs[p++]);
                    parts.add(pm);
                    offset = CglmFormat.align(offset + part.data.byteSize());
                }
                Map<String, Object> tm = new LinkedHashMap<>();
                tm.put("name", e.name);
                tm.put("kind", e.kind);
                tm.put("shape", e.shape);
                tm.put("parts", parts);
                tensors.add(tm);
            }
            header.put("tensors", tensors);
            try {
                json = new ObjectMapper().writeValueAsBytes(header);
            } catch (IOException ex) {
                throw new ChatGlmException("cannot encode the model header: " + ex.getMessage(), ex);
            }
            long needed = CglmFormat.align(CglmFormat.PREAMBLE + json.length);
            if (needed == dataStart) break;
            dataStart = needed;   // offsets moved: encode again (stable after one or two rounds)
        }

        Path tmp = out.resolveSibling(out.getFileName() + ".part");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer pre = ByteBuffer.allocate(CglmFormat.PREAMBLE).order(ByteOrder.LITTLE_ENDIAN);
            pre.put(CglmFormat.MAGIC).putInt(CglmFormat.VERSION).putLong(json.length);
            CRC32C c = new CRC32C();
            c.update(json);
            pre.putInt((int) c.getValue()).putInt(0).flip();
            writeFully(ch, pre, 0);
            writeFully(ch, ByteBuffer.wrap(json), CglmFormat.PREAMBLE);
            long offset = dataStart, written = 0;
            writeFully(ch, ByteBuffer.wrap(tokenizerModel), offset);
            offset = CglmFormat.align(offset + tokenizerModel.length);
            for (Entry e : entries) {
                for (Part part : e.parts) {
                    long n = part.data.byteSize();
                    for (long at = 0; at < n; at += 1 << 26) {   // 64 MiB at a time
                        long len = Math.min(1 << 26, n - at);
                        writeFully(ch, part.data.asSlice(at, len).asByteBuffer(), offset + at);
                        written += len;
                        if (progress != null) progress.accept(written);
                    }
                    offset = CglmFormat.align(offset + n);
                }
            }
            if (ch.size() < offset) writeFully(ch, ByteBuffer.allocate(1), offset - 1);   // trailing alignment
            ch.force(true);
        } catch (IOException ex) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original error is what matters
            }
            throw new ChatGlmException(out + ": cannot write: " + ex.getMessage(), ex);
        }
        try {
            Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException ex) {
            throw new ChatGlmException(out + ": cannot move the finished file into place: " + ex.getMessage(), ex);
        }
    }

    /**
     * Converts a Hugging Face model folder: loads it (quantizing the linears and optionally the embeddings while
     * loading) and writes {@code out}.
     */
    public static void convert(Path folder, org.chatglm4j.quant.QuantFormat linears,
                               org.chatglm4j.quant.QuantFormat embeddings, Path out, LongConsumer progress) {
        convert(folder, linears, embeddings, out, progress, null);
    }

    /**
     * Converts a Hugging Face model folder as {@link #convert(Path, org.chatglm4j.quant.QuantFormat,
     * org.chatglm4j.quant.QuantFormat, Path, LongConsumer)} does, recording a chat format decided by the caller.
     *
     * @param chatFormat ChatGLM2/3: the decided chat format to record (null: decide from the folder)
     */
    public static void convert(Path folder, org.chatglm4j.quant.QuantFormat linears,
                               org.chatglm4j.quant.QuantFormat embeddings, Path out, LongConsumer progress,
                               org.chatglm4j.chat.ChatFormatKind.Decision chatFormat) {
        ChatGlmConfig cfg = ChatGlmConfig.load(folder.resolve("config.json"));
        if (cfg.isGlm2()) {
            convertGlm2(folder, cfg, linears, embeddings, out, progress, chatFormat != null ? chatFormat
                    : org.chatglm4j.chat.ChatFormatKind.decide(null, null, folder));
            return;
        }
        Path modelFile = folder.resolve(org.chatglm4j.tokenizer.ChatGlmTokenizer.MODEL_FILE);
        Path tokConfig = folder.resolve(TokenizerConfig.FILE_NAME);
        TokenizerConfig tcfg = Files.exists(tokConfig) ? TokenizerConfig.read(tokConfig) : TokenizerConfig.defaults();
        // load the tokenizer once to validate it before spending minutes on the weights
        org.chatglm4j.tokenizer.ChatGlmTokenizer.load(modelFile, tcfg);
        byte[] tokenizerBytes;
        try {
            tokenizerBytes = Files.readAllBytes(modelFile);
        } catch (IOException e) {
            throw new ChatGlmException(modelFile + ": cannot read: " + e.getMessage(), e);
        }
        try (org.chatglm4j.io.Checkpoint ck = org.chatglm4j.io.Checkpoint.open(folder);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
             org.chatglm4j.tensor.Parallel pool = org.chatglm4j.tensor.Parallel.ofAvailableProcessors()) {
            ChatGlmWeights w = ChatGlmWeights.load(cfg, ck.tensors(), folder.toString(), linears, embeddings, arena, pool);
            String q = cfg.quantizationBit() != 0 ? "int" + cfg.quantizationBit() : linears.id();
            write(out, cfg.withQuantizationBit(0), tokenizerBytes, tcfg, w, q, progress);
        }
    }

    private static void convertGlm2(Path folder, ChatGlmConfig cfg, org.chatglm4j.quant.QuantFormat linears,
                                    org.chatglm4j.quant.QuantFormat embeddings, Path out, LongConsumer progress,
                                    org.chatglm4j.chat.ChatFormatKind.Decision format) {
        boolean v3 = format.kind() == org.chatglm4j.chat.ChatFormatKind.GLM3;
        // load the tokenizer once to validate it before spending minutes on the weights
        org.chatglm4j.tokenizer.Glm2Tokenizer tok = org.chatglm4j.tokenizer.Glm2Tokenizer.load(folder, v3);
        Path modelFile = folder.resolve(org.chatglm4j.tokenizer.Glm2Tokenizer.MODEL_FILE);
        byte[] tokenizerBytes;
        try {
            tokenizerBytes = Files.readAllBytes(modelFile);
        } catch (IOException e) {
            throw new ChatGlmException(modelFile + ": cannot read: " + e.getMessage(), e);
        }
        try (org.chatglm4j.io.Checkpoint ck = org.chatglm4j.io.Checkpoint.open(folder);
             java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
             org.chatglm4j.tensor.Parallel pool = org.chatglm4j.tensor.Parallel.ofAvailableProcessors()) {
            ChatGlmWeights w = ChatGlmWeights.load(cfg, ck.tensors(), folder.toString(), linears, embeddings, arena, pool);
            String q = cfg.quantizationBit() != 0 ? "int" + cfg.quantizationBit() : linears.id();
            writeGlm2(out, cfg.withQuantizationBit(0), tokenizerBytes, format.kind().cliName(),
                    tok.encodeSpecialTokens(), w, q, progress);
        }
    }

    /** Total bytes of tensor data {@link #write} will write (for progress bars). */
    public static long dataBytes(ChatGlmWeights weights) {
        long n = 0;
        for (Entry e : entries(weights)) for (Part p : e.parts) n += p.data.byteSize();
        return n;
    }

    private static int countParts(List<Entry> entries) {
        int n = 0;
        for (Entry e : entries) n += e.parts.size();
        return n;
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) position += ch.write(buf, position);
    }

    static long crc(MemorySegment data) {
        CRC32C c = new CRC32C();
        for (long at = 0; at < data.byteSize(); at += 1 << 26) {
            c.update(data.asSlice(at, Math.min(1 << 26, data.byteSize() - at)).asByteBuffer());
        }
        return c.getValue();
    }

    static Map<String, Object> tokenizerJson(TokenizerConfig t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bos_token", t.bosToken());
        m.put("eos_token", t.eosToken());
        m.put("end_token", t.endToken());
        m.put("mask_token", t.maskToken());
        m.put("gmask_token", t.gmaskToken());
        m.put("pad_token", t.padToken());
        m.put("unk_token", t.unkToken());
        m.put("remove_space", t.removeSpace());
        m.put("do_lower_case", t.doLowerCase());
        m.put("num_image_tokens", t.numImageTokens());
        return m;
    }

    private static List<Entry> entries(ChatGlmWeights w) {
        if (w.config().isGlm2()) return entriesGlm2(w);
        List<Entry> out = new ArrayList<>();
        out.add(matrix("transformer.word_embeddings.weight", w.wordEmbeddings()));
        for (int i = 0; i < w.layers().length; i++) {
            LayerWeights l = w.layers()[i];
            String p = "transformer.layers." + i + ".";
            out.add(vector(p + "input_layernorm.weight", l.inputLayernormWeight()));
            out.add(vector(p + "input_layernorm.bias", l.inputLayernormBias()));
            linear(out, p + "attention.query_key_value", l.queryKeyValue());
            linear(out, p + "attention.dense", l.dense());
            out.add(vector(p + "post_attention_layernorm.weight", l.postAttentionLayernormWeight()));
            out.add(vector(p + "post_attention_layernorm.bias", l.postAttentionLayernormBias()));
            linear(out, p + "mlp.dense_h_to_4h", l.denseHTo4h());
            linear(out, p + "mlp.dense_4h_to_h", l.dense4hToH());
        }
        out.add(vector("transformer.final_layernorm.weight", w.finalLayernormWeight()));
        out.add(vector("transformer.final_layernorm.bias", w.finalLayernormBias()));
        return out;
    }

    /** ChatGLM2/3 under their reference names; RMSNorms have no bias, only the QKV linear has one. */
    private static List<Entry> entriesGlm2(ChatGlmWeights w) {
        List<Entry> out = new ArrayList<>();
        out.add(matrix("transformer.embedding.word_embeddings.weight", w.wordEmbeddings()));
        for (int i = 0; i < w.layers().length; i++) {
            LayerWeights l = w.layers()[i];
            String p = "transformer.encoder.layers." + i + ".";
            out.add(vector(p + "input_layernorm.weight", l.inputLayernormWeight()));
            linear(out, p + "self_attention.query_key_value", l.queryKeyValue());
            linear(out, p + "self_attention.dense", l.dense());
            out.add(vector(p + "post_attention_layernorm.weight", l.postAttentionLayernormWeight()));
            linear(out, p + "mlp.dense_h_to_4h", l.denseHTo4h());
            linear(out, p + "mlp.dense_4h_to_h", l.dense4hToH());
        }
        out.add(vector("transformer.encoder.final_layernorm.weight", w.finalLayernormWeight()));
        out.add(matrix("transformer.output_layer.weight", w.lmHead()));
        return out;
    }

    private static void linear(List<Entry> out, String prefix, Linear l) {
        out.add(matrix(prefix + ".weight", l.weight()));
        if (l.bias() != null) out.add(vector(prefix + ".bias", l.bias()));
    }

    private static Entry vector(String name, float[] v) {
        return new Entry(name, "vector", new long[]{v.length}, List.of(new Part("data", floats(v))));
    }

    private static Entry matrix(String name, WeightMatrix m) {
        long[] shape = {m.rows(), m.cols()};
        return switch (m) {
            case F32Matrix f -> new Entry(name, "f32", shape, List.of(new Part("data", f.data())));
            case F16Matrix f -> new Entry(name, "f16", shape, List.of(new Part("data", f.data())));
            case BF16Matrix f -> new Entry(name, "bf16", shape, List.of(new Part("data", f.data())));
            case Int8Matrix q -> new Entry(name, "int8", shape,
                    List.of(new Part("quants", q.quants()), new Part("scales", floats(q.scales()))));
            case Int4Matrix q -> new Entry(name, "int4", shape,
                    List.of(new Part("quants", q.quants()), new Part("scales", floats(q.scales()))));
            case Q8Matrix q -> new Entry(name, "q8", shape,
                    List.of(new Part("quants", q.quants()), new Part("scales", q.scaleData())));
            case Q4Matrix q -> new Entry(name, "q4", shape,
                    List.of(new Part("quants", q.quants()), new Part("scales", q.scaleData())));
        };
    }

    /** Little-endian bytes of a float array (heap float segments cannot become byte buffers). */
    private static MemorySegment floats(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return MemorySegment.ofArray(b.array());
    }
}
