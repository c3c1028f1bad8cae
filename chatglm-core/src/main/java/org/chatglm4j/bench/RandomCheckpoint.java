package org.chatglm4j.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.io.DType;
import org.chatglm4j.io.SafetensorsWriter;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.tensor.F16;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;

/**
 * Writes a Hugging Face style checkpoint folder (config.json + model.safetensors, fp16, the reference's tensor
 * names, lm_head included like the real files) with random weights of any geometry — by default the real
 * ChatGLM-6B's, 13.5 GB — streaming 64 MiB at a time, so it needs no more memory than that. Used to measure
 * loading and speed at full size; there is no tokenizer in it.
 */
public final class RandomCheckpoint {
    private static final int CHUNK = 1 << 26;

    private RandomCheckpoint() {
    }

    /** The tensors (names, shapes, fp16) of a checkpoint of this geometry, in the order written. */
    public static List<SafetensorsWriter.Entry> layout(ChatGlmConfig cfg) {
        if (cfg.isGlm2()) return layoutGlm2(cfg);
        long h = cfg.hiddenSize(), inner = cfg.innerHiddenSize(), v = cfg.vocabSize();
        List<SafetensorsWriter.Entry> e = new ArrayList<>();
        e.add(new SafetensorsWriter.Entry("transformer.word_embeddings.weight", DType.F16, new long[]{v, h}));
        for (int i = 0; i < cfg.numLayers(); i++) {
            String p = "transformer.layers." + i + ".";
            e.add(new SafetensorsWriter.Entry(p + "input_layernorm.weight", DType.F16, new long[]{h}));
            e.add(new SafetensorsWriter.Entry(p + "input_layernorm.bias", DType.F16, new long[]{h}));
            e.add(new SafetensorsWriter.Entry(p + "attention.query_key_value.weight", DType.F16, new long[]{3 * h, h}));
            e.add(new SafetensorsWriter.Entry(p + "attention.query_key_value.bias", DType.F16, new long[]{3 * h}));
            e.add(new SafetensorsWriter.Entry(p + "attention.dense.weight", DType.F16, new long[]{h, h}));
            e.add(new SafetensorsWriter.Entry(p + "attention.dense.bias", DType.F16, new long[]{h}));
            e.add(new SafetensorsWriter.Entry(p + "post_attention_layernorm.weight", DType.F16, new long[]{h}));
            e.add(new SafetensorsWriter.Entry(p + "post_attention_layernorm.bias", DType.F16, new long[]{h}));
            e.add(new SafetensorsWriter.Entry(p + "mlp.dense_h_to_4h.weight", DType.F16, new long[]{inner, h}));
            e.add(new SafetensorsWriter.Entry(p + "mlp.dense_h_to_4h.bias", DType.F16, new long[]{inner}));
            e.add(new SafetensorsWriter.Entry(p + "mlp.dense_4h_to_h.weight", DType.F16, new long[]{h, inner}));
            e.add(new SafetensorsWriter.Entry(p + "mlp.dense_4h_to_h.bias", DType.F16, new long[]{h}));
        }
        e.add(new SafetensorsWriter.Entry("transformer.final_layernorm.weight", DType.F16, new long[]{h}));
        e.add(new SafetensorsWriter.Entry("transformer.final_layernorm.bias", DType.F16, new long[]{h}));
        e.add(new SafetensorsWriter.Entry("lm_head.weight", DType.F16, new long[]{v, h}));
        return e;
    }

    /** ChatGLM2/3's {@code state_dict()} names and shapes (the rotary inv_freq buffer included, as the hub files). */
    private static List<SafetensorsWriter.Entry> layoutGlm2(ChatGlmConfig cfg) {
        long h = cfg.hiddenSize(), f = cfg.innerHiddenSize(), v = cfg.vocabSize(), p = cfg.projectionSize();
        long qkv = cfg.qkvSize();
        List<SafetensorsWriter.Entry> e = new ArrayList<>();
        e.add(new SafetensorsWriter.Entry("transformer.embedding.word_embeddings.weight", DType.F16, new long[]{v, h}));
        e.add(new SafetensorsWriter.Entry("transformer.rotary_pos_emb.inv_freq", DType.F16,
                new long[]{cfg.headSize() / 4}));
        for (int i = 0; i < cfg.numLayers(); i++) {
            String pre = "transformer.encoder.layers." + i + ".";
            e.add(new SafetensorsWriter.Entry(pre + "input_layernorm.weight", DType.F16, new long[]{h}));
            e.add(new SafetensorsWriter.Entry(pre + "self_attention.query_key_value.weight", DType.F16, new long[]{qkv, h}));
            e.add(new SafetensorsWriter.Entry(pre + "self_attention.query_key_value.bias", DType.F16, new long[]{qkv}));
            e.add(new SafetensorsWriter.Entry(pre + "self_attention.dense.weight", DType.F16, new long[]{h, p}));
            e.add(new SafetensorsWriter.Entry(pre + "post_attention_layernorm.weight", DType.F16, new long[]{h}));
            e.add(new SafetensorsWriter.Entry(pre + "mlp.dense_h_to_4h.weight", DType.F16, new long[]{2 * f, h}));
            e.add(new SafetensorsWriter.Entry(pre + "mlp.dense_4h_to_h.weight", DType.F16, new long[]{h, f}));
        }
        e.add(new SafetensorsWriter.Entry("transformer.encoder.final_layernorm.weight", DType.F16, new long[]{h}));
        e.add(new SafetensorsWriter.Entry("transformer.output_layer.weight", DType.F16, new long[]{v, h}));
        return e;
    }

    /** Total bytes of tensor data for {@code cfg}. */
    public static long dataBytes(ChatGlmConfig cfg) {
        long n = 0;
        for (SafetensorsWriter.Entry e : layout(cfg)) n += e.byteSize();
        return n;
    }

    /** Writes a random-weight checkpoint of this geometry to {@code dir}, reporting bytes written. */
    public static void write(Path dir, ChatGlmConfig cfg, long seed, LongConsumer progress) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"),
                    new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(cfg.toJson()));
        } catch (IOException e) {
            throw new ChatGlmException(dir + ": cannot write: " + e.getMessage(), e);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        try (Arena arena = Arena.ofConfined();
             SafetensorsWriter w = SafetensorsWriter.create(dir.resolve("model.safetensors"), layout(cfg),
                     Map.of("format", "pt"))) {
            // a block of N(0, 0.02²) halves, sent at shifting offsets: distinct-looking chunks at disk speed
            MemorySegment noise = arena.allocate(CHUNK + 4096L);
            for (long i = 0; i < noise.byteSize(); i += 2) {
                noise.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, F16.fromFloat((float) (rnd.nextGaussian() * 0.02)));
            }
            long total = dataBytes(cfg), done = 0;
            while (done < total) {
                long n = Math.min(CHUNK, total - done);
                w.append(noise.asSlice(2L * rnd.nextInt(2048), n));
                done += n;
                if (progress != null) progress.accept(done);
            }
        }
    }
}
