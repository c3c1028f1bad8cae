package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.cglm.CglmModel;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.io.DType;
import org.chatglm4j.io.TensorRef;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.model.LayerWeights;
import org.chatglm4j.model.PrefixEncoder;
import org.chatglm4j.tensor.Activations;
import org.chatglm4j.tensor.WeightMatrix;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.chatglm4j.tokenizer.Glm2Tokenizer;
import org.chatglm4j.chat.ChatFormatKind;
import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;

/**
 * {@code chatglm info}: what a model folder holds and what running it takes, from its config and the checkpoint's
 * metadata (weights are mapped, never read, so this is quick and works for formats this build cannot run).
 */
@Command(name = "info", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Configuration, weights, parameter count and memory needs of a model.",
        description = "Shows a model's configuration, tokenizer, weight files and format, tensor dtypes, parameter "
                + "count, and the memory needed to run it (weights, KV cache, working set, suggested heap).")
public final class InfoCommand implements Callable<Integer> {
    /** The tensors the model reads; anything else in a checkpoint (lm_head.weight, rotary buffers) is unused. */
    static final Pattern USED = Pattern.compile("transformer\\.(word_embeddings\\.weight|final_layernorm\\.(weight|bias)"
            + "|layers\\.\\d+\\.(input_layernorm|post_attention_layernorm|attention\\.query_key_value"
            + "|attention\\.dense|mlp\\.dense_h_to_4h|mlp\\.dense_4h_to_h)\\.(weight|bias|weight_scale)"
            // ChatGLM2/3 (the rotary inv_freq buffer is never read)
            + "|embedding\\.word_embeddings\\.weight|output_layer\\.weight|encoder\\.final_layernorm\\.weight"
            + "|encoder\\.layers\\.\\d+\\.(input_layernorm|post_attention_layernorm|self_attention\\.query_key_value"
            + "|self_attention\\.dense|mlp\\.dense_h_to_4h|mlp\\.dense_4h_to_h)\\.(weight|bias|weight_scale))");
    /** Context lengths the memory report always covers (ChatGLM2's 32K context and its common cuts). */
    static final int[] REPORTED_LENGTHS = {2048, 8192, 32768};

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Option(names = "--ptuning", paramLabel = "DIR", description = "Also describe this P-Tuning v2 checkpoint.")
    Path ptuning;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Sequence length for the memory estimate. Default: the model's max_sequence_length.")
    Integer maxLength;

    @Option(names = "--json", description = "Write JSON.")
    boolean json;

    private final CliContext ctx;

    public InfoCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        if (maxLength != null && maxLength < 1) {
            throw new ParameterException(spec.commandLine(), "--max-length must be at least 1, got " + maxLength);
        }
        Path folder = model.resolve(ctx);
        ObjectNode report = Json.MAPPER.createObjectNode();
        report.put("model", folder.toString());
        ChatGlmConfig cfg;
        if (SingleFile.is(folder)) {
            try (CglmModel m = CglmModel.open(folder)) {
                cfg = m.config();
                report.set("config", config(cfg));
                if (cfg.isGlm2()) {
                    ChatFormatKind.Decision d = ChatFormatKind.decideFromName(model.chatFormat, m.chatFormat(),
                            "the .cglm file's chat format");
                    report.set("chat_format", chatFormat(d));
                    report.set("tokenizer", glm2Tokenizer(m.glm2Tokenizer(d.kind() == ChatFormatKind.GLM3),
                            "(in the .cglm file)"));
                } else {
                    report.set("tokenizer", tokenizer(m.tokenizer(), "(in the .cglm file)"));
                }
                report.set("weights", weights(m, folder));
            }
        } else {
            cfg = ChatGlmConfig.load(folder.resolve("config.json"));
            report.set("config", config(cfg));
            if (cfg.isGlm2()) {
                ChatFormatKind.Decision d = model.chatFormat(folder);
                report.set("chat_format", chatFormat(d));
                report.set("tokenizer", glm2Tokenizer(folder, d.kind() == ChatFormatKind.GLM3));
            } else {
                report.set("tokenizer", tokenizer(folder));
            }
            try (Checkpoint ck = Checkpoint.open(folder)) {
                report.set("weights", weights(ck, cfg));
            }
        }
        ChatGlmConfig effective = cfg;
        if (ptuning != null) {
            ChatGlmConfig pcfg = ChatGlmConfig.load(ptuning.resolve("config.json"));
            effective = cfg.withPrefix(pcfg.preSeqLen(), pcfg.prefixProjection());
            try (Checkpoint pck = Checkpoint.open(ptuning)) {
                report.set("ptuning", ptuning(pck, pcfg));
            }
        }
        int length = maxLength != null ? maxLength : cfg.maxSequenceLength();
        MemoryEstimate mem = MemoryEstimate.of(effective, length, model.threads(),
                KvCache.Precision.AUTO.resolve(effective));   // chat's default
        ObjectNode memory = memory(mem, report.get("weights").get("used_bytes").asLong());
        ObjectNode at = memory.putObject("kv_cache_bytes_at");
        for (int n : REPORTED_LENGTHS) {
            long f32 = MemoryEstimate.kvBytesAt(effective, n);
            at.putObject(Integer.toString(n)).put("f32", f32).put("f16", f32 / 2)
                    .put("total_f32", report.get("weights").get("used_bytes").asLong() + f32);
        }
        report.set("memory", memory);
        report.set("kernels", kernels());
        if (json) Json.writeLine(ctx.out(), report);
        else printText(ctx.out(), report, mem);
        return 0;
    }

    static ObjectNode chatFormat(ChatFormatKind.Decision d) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("kind", d.kind().cliName());
        o.put("decided_by", d.reason());
        o.put("defaulted", d.defaulted());
        return o;
    }

    static ObjectNode glm2Tokenizer(Path folder, boolean roleTokens) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        if (!Files.isRegularFile(folder.resolve(Glm2Tokenizer.MODEL_FILE))) {
            o.putNull("file");
            return o;
        }
        return glm2Tokenizer(Glm2Tokenizer.load(folder, roleTokens), Glm2Tokenizer.MODEL_FILE);
    }

    static ObjectNode glm2Tokenizer(Glm2Tokenizer t, String file) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("file", file);
        o.put("vocab_size", t.vocabSize());
        o.put("num_image_tokens", 0);
        o.put("algorithm", t.sentencePiece().model().algorithm().name().toLowerCase(Locale.ROOT));
        ArrayNode specials = o.putArray("special_tokens");
        t.specialTokens().forEach(specials::add);
        return o;
    }

    static ObjectNode config(ChatGlmConfig c) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("architecture", c.isGlm2() ? "chatglm2" : "chatglm");
        o.put("kv_groups", c.kvGroups());
        o.put("num_layers", c.numLayers());
        o.put("hidden_size", c.hiddenSize());
        o.put("num_attention_heads", c.numAttentionHeads());
        o.put("head_size", c.headSize());
        o.put("inner_hidden_size", c.innerHiddenSize());
        o.put("vocab_size", c.vocabSize());
        o.put("max_sequence_length", c.maxSequenceLength());
        o.put("position_encoding", c.positionEncoding2d() ? "2D" : "1D");
        o.put("quantization_bit", c.quantizationBit());
        o.put("pre_seq_len", c.preSeqLen());
        o.put("prefix_projection", c.prefixProjection());
        o.put("torch_dtype", c.torchDtype());
        o.put("parameters", ChatGlmWeights.parameterCount(c));
        return o;
    }

    static ObjectNode tokenizer(Path folder) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        if (!Files.isRegularFile(folder.resolve(ChatGlmTokenizer.MODEL_FILE))) {
            o.putNull("file");
            return o;
        }
        return tokenizer(ChatGlmTokenizer.load(folder), ChatGlmTokenizer.MODEL_FILE);
    }

    static ObjectNode tokenizer(ChatGlmTokenizer t, String file) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("file", file);
        o.put("vocab_size", t.vocabSize());
        o.put("num_image_tokens", t.numImageTokens());
        o.put("algorithm", t.sentencePiece().model().algorithm().name().toLowerCase(Locale.ROOT));
        return o;
    }

    static ObjectNode weights(Checkpoint ck, ChatGlmConfig cfg) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("format", ck.format());
        ArrayNode files = o.putArray("files");
        for (Path f : ck.files()) {
            ObjectNode file = files.addObject();
            file.put("name", f.getFileName().toString());
            file.put("bytes", fileSize(f));
        }
        o.put("tensors", ck.tensors().size());
        Map<DType, long[]> byType = new EnumMap<>(DType.class);   // {count, bytes}
        long used = 0, unused = 0, elements = 0;
        for (TensorRef t : ck.tensors().values()) {
            long[] c = byType.computeIfAbsent(t.dtype(), d -> new long[2]);
            c[0]++;
            c[1] += t.data().byteSize();
            elements += t.numel();
            if (USED.matcher(t.name()).matches()) used += t.data().byteSize();
            else unused += t.data().byteSize();
        }
        ObjectNode dtypes = o.putObject("dtypes");
        for (Map.Entry<DType, long[]> e : byType.entrySet()) {
            dtypes.putObject(e.getKey().lowerName()).put("tensors", e.getValue()[0]).put("bytes", e.getValue()[1]);
        }
        o.put("stored_elements", elements);
        o.put("parameters", ChatGlmWeights.parameterCount(cfg));
        o.put("bytes", ck.totalBytes());
        o.put("used_bytes", used);
        o.put("unused_bytes", unused);
        return o;
    }

    /** A .cglm file: its matrices by storage format (the small vectors are not counted as tensors there). */
    static ObjectNode weights(CglmModel m, Path file) {
        ChatGlmWeights w = m.weights();
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("format", "cglm");
        o.put("quantization", m.quantization());
        o.putArray("files").addObject().put("name", file.getFileName().toString()).put("bytes", m.fileBytes());
        Map<String, long[]> byFormat = new java.util.TreeMap<>();   // {count, bytes}
        List<WeightMatrix> matrices = new ArrayList<>();
        matrices.add(w.wordEmbeddings());
        if (m.config().isGlm2()) matrices.add(w.lmHead());   // untied output layer
        for (LayerWeights l : w.layers()) {
            matrices.add(l.queryKeyValue().weight());
            matrices.add(l.dense().weight());
            matrices.add(l.denseHTo4h().weight());
            matrices.add(l.dense4hToH().weight());
        }
        long bytes = 0;
        for (WeightMatrix x : matrices) {
            long[] c = byFormat.computeIfAbsent(x.format(), f -> new long[2]);
            c[0]++;
            c[1] += x.byteSize();
            bytes += x.byteSize();
        }
        o.put("tensors", matrices.size());
        ObjectNode dtypes = o.putObject("dtypes");
        byFormat.forEach((f, c) -> dtypes.putObject(f).put("tensors", c[0]).put("bytes", c[1]));
        o.put("parameters", ChatGlmWeights.parameterCount(m.config()));
        o.put("bytes", m.fileBytes());
        o.put("used_bytes", bytes);
        o.put("unused_bytes", 0);
        return o;
    }

    static ObjectNode ptuning(Checkpoint ck, ChatGlmConfig pcfg) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("pre_seq_len", pcfg.preSeqLen());
        o.put("prefix_projection", pcfg.prefixProjection());
        o.put("format", ck.format());
        long params = 0, bytes = 0;
        int tensors = 0;
        for (TensorRef t : ck.tensors().values()) {
            if (!t.name().startsWith(PrefixEncoder.PREFIX)) continue;
            tensors++;
            params += t.numel();
            bytes += t.data().byteSize();
        }
        o.put("tensors", tensors);
        o.put("parameters", params);
        o.put("bytes", bytes);
        return o;
    }

    static ObjectNode memory(MemoryEstimate m, long weightBytes) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("max_length", m.maxLength());
        o.put("threads", m.threads());
        o.put("weights_mapped_bytes", weightBytes);
        o.put("heap_vector_bytes", m.vectorBytes());
        o.put("kv_cache_precision", m.kvPrecision().name().toLowerCase(Locale.ROOT));
        o.put("kv_cache_bytes_per_token", m.kvBytesPerToken());
        o.put("kv_cache_bytes_at_max_length", m.kvBytesAtMax());
        o.put("working_set_bytes", m.workingBytes());
        o.put("heap_bytes", m.heapBytes());
        o.put("total_bytes", m.peakRssBytes(weightBytes));   // the predicted peak RSS
        o.put("suggested_java_opts", m.suggestedXmx());
        o.put("jvm_max_heap_bytes", Runtime.getRuntime().maxMemory());
        return o;
    }

    /** Which decode kernels this CPU gets: the activation path of each grouped format ({@link Activations}). */
    static ObjectNode kernels() {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("cpu", Activations.cpu());
        o.put("q4_activations", Activations.defaultFor("q4").name().toLowerCase(Locale.ROOT));
        o.put("q8_activations", Activations.defaultFor("q8").name().toLowerCase(Locale.ROOT));
        o.put("reference_formats_activations", "float");
        return o;
    }

    private static long fileSize(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return -1;
        }
    }

    private static void printText(PrintStream out, ObjectNode r, MemoryEstimate mem) {
        ObjectNode c = (ObjectNode) r.get("config");
        ObjectNode t = (ObjectNode) r.get("tokenizer");
        ObjectNode w = (ObjectNode) r.get("weights");
        ObjectNode m = (ObjectNode) r.get("memory");
        out.println("model         " + r.get("model").asText());
        boolean v2 = c.get("architecture").asText().equals("chatglm2");
        out.printf(Locale.ROOT, "architecture  %s: %d layers, hidden %d, %d heads (head size %d)%s, %s %d, vocab %d%n",
                v2 ? "ChatGLM2/3 (RMSNorm, multi-query attention, SwiGLU)" : "ChatGLM-6B",
                c.get("num_layers").asInt(), c.get("hidden_size").asInt(), c.get("num_attention_heads").asInt(),
                c.get("head_size").asInt(), v2 ? " sharing " + c.get("kv_groups").asInt() + " key/value groups" : "",
                v2 ? "ffn" : "inner", c.get("inner_hidden_size").asInt(), c.get("vocab_size").asInt());
        if (r.has("chat_format")) {
            JsonNode f = r.get("chat_format");
            out.println("chat format   " + f.get("kind").asText() + (f.get("defaulted").asBoolean()
                    ? " (defaulted: nothing names chatglm2/chatglm3/codegeex2; use --chat-format glm2|glm3)"
                    : " (from " + f.get("decided_by").asText() + ")"));
        }
        out.printf(Locale.ROOT, "positions     %s rotary, max_sequence_length %d, torch_dtype %s%n",
                c.get("position_encoding").asText(), c.get("max_sequence_length").asInt(), c.get("torch_dtype").asText());
        int q = c.get("quantization_bit").asInt();
        String quant = q == 0 ? "none" : "int" + q + " (quantization_bit " + q + ")";
        if (w.has("quantization")) quant = w.get("quantization").asText() + " (chosen when the .cglm file was written)";
        out.println("quantization  " + quant);
        String pt = c.get("pre_seq_len").asInt() == 0 ? "none in config.json"
                : "pre_seq_len " + c.get("pre_seq_len").asInt() + ", prefix_projection "
                + c.get("prefix_projection").asBoolean() + " (config.json)";
        if (r.has("ptuning")) {
            ObjectNode p = (ObjectNode) r.get("ptuning");
            pt = "pre_seq_len " + p.get("pre_seq_len").asInt() + ", prefix_projection "
                    + p.get("prefix_projection").asBoolean() + ", " + p.get("tensors").asInt() + " tensors, "
                    + Sizes.count(p.get("parameters").asLong()) + " parameters (" + Sizes.bytes(p.get("bytes").asLong())
                    + ", " + p.get("format").asText() + ")";
        }
        out.println("p-tuning      " + pt);
        out.println("tokenizer     " + (t.get("file").isNull() ? "none (no " + (v2 ? Glm2Tokenizer.MODEL_FILE
                : ChatGlmTokenizer.MODEL_FILE) + ")"
                : t.get("file").asText() + ": " + t.get("vocab_size").asInt() + " tokens, "
                + t.get("num_image_tokens").asInt() + " image tokens, " + t.get("algorithm").asText()));
        out.println("weights       " + w.get("format").asText() + ", " + w.get("files").size() + " file"
                + (w.get("files").size() == 1 ? "" : "s") + ":");
        for (var f : w.get("files")) {
            out.printf(Locale.ROOT, "                %-40s %s%n", f.get("name").asText(), Sizes.bytes(f.get("bytes").asLong()));
        }
        StringBuilder dt = new StringBuilder();
        w.get("dtypes").properties().forEach(e -> dt.append(dt.isEmpty() ? "" : ", ").append(e.getKey()).append(" × ")
                .append(e.getValue().get("tensors").asLong()).append(" (")
                .append(Sizes.bytes(e.getValue().get("bytes").asLong())).append(')'));
        out.println("tensors       " + w.get("tensors").asInt() + ": " + dt);
        long params = w.get("parameters").asLong();
        out.printf(Locale.ROOT, "parameters    %s (%,d)%n", Sizes.count(params), params);
        out.println("weight bytes  " + Sizes.bytes(w.get("bytes").asLong()) + " stored, "
                + Sizes.bytes(w.get("used_bytes").asLong()) + " used by the model"
                + (w.get("unused_bytes").asLong() > 0 ? " (" + Sizes.bytes(w.get("unused_bytes").asLong())
                + (v2 ? " in tensors the model never reads: the rotary inv_freq buffer)"
                : " in tensors the model never reads, such as lm_head.weight, tied to the embeddings)") : ""));
        out.println("memory        weights, memory-mapped (page cache, off-heap): "
                + Sizes.bytes(m.get("weights_mapped_bytes").asLong()));
        out.println("              KV cache (" + (mem.kvPrecision() == KvCache.Precision.F16 ? "fp16, the default; "
                + "--kv-cache f32 doubles it" : "float32, the default for a model this small") + ", off-heap): " + Sizes.bytes(mem.kvBytesPerToken())
                + " per token, " + Sizes.bytes(mem.kvBytesAtMax()) + " at length " + mem.maxLength());
        StringBuilder kv = new StringBuilder();
        m.get("kv_cache_bytes_at").properties().forEach(e -> kv.append(kv.isEmpty() ? "" : ", ").append(e.getKey())
                .append(": ").append(Sizes.bytes(e.getValue().get("f32").asLong())).append(" (f16 ")
                .append(Sizes.bytes(e.getValue().get("f16").asLong())).append(")"));
        out.println("              KV cache by context (float32, fp16 in parentheses): " + kv);
        out.println("              working set of a " + mem.maxLength() + "-token prompt: ≈ "
                + Sizes.bytes(mem.workingBytes()) + "; LayerNorms and biases on the heap: "
                + Sizes.bytes(mem.vectorBytes()));
        out.println("              predicted peak RSS ≈ " + Sizes.bytes(m.get("total_bytes").asLong()) + String.format(
                Locale.ROOT, " (%.2f GB)", m.get("total_bytes").asLong() / 1e9) + "; Java heap needed ≈ "
                + Sizes.bytes(mem.heapBytes()) + " (JAVA_OPTS=" + mem.suggestedXmx() + "; this JVM's max heap: "
                + Sizes.bytes(Runtime.getRuntime().maxMemory()) + ")");
        ObjectNode k = (ObjectNode) r.get("kernels");
        out.println("kernels       " + k.get("cpu").asText() + ": decode of q4 on " + k.get("q4_activations").asText()
                + " activations, q8 on " + k.get("q8_activations").asText()
                + " activations; int4, int8 and float formats on float activations (-D" + Activations.PROPERTY
                + "=float|int8 overrides)");
        out.flush();
    }
}
