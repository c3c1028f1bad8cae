package org.chatglm4j.model;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.io.DType;
import org.chatglm4j.io.TensorRef;
import org.chatglm4j.tensor.BF16Matrix;
import org.chatglm4j.tensor.F16;
import org.chatglm4j.tensor.F16Matrix;
import org.chatglm4j.tensor.F32Matrix;
import org.chatglm4j.tensor.WeightMatrix;
import org.chatglm4j.tensor.Int4Matrix;
import org.chatglm4j.tensor.Int8Matrix;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.quant.Quantizer;
import java.lang.foreign.Arena;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Map;

/**
 * All weights of ChatGLM-6B, typed by storage format. Matrices stay in the memory-mapped checkpoint; only the
 * small vectors (LayerNorm parameters and biases) are copied to the heap as float32.
 *
 * <p>{@code lm_head} is TIED to the word embeddings: Hugging Face's {@code from_pretrained} calls
 * {@code tie_weights()} and ChatGLM's config leaves {@code tie_word_embeddings} at true, so the stored
 * {@code lm_head.weight} is never used — we do not even read it.
 */
public record ChatGlmWeights(
        ChatGlmConfig config,
        WeightMatrix wordEmbeddings,     // [vocab, h]
        LayerWeights[] layers,
        float[] finalLayernormWeight, float[] finalLayernormBias,
        WeightMatrix lmHead) {           // [vocab, h] = wordEmbeddings

    /**
     * Loads the weights as stored, without quantizing: matrices are views of the mapped {@code tensors}, which must
     * stay open as long as the weights are used. {@code source} names the checkpoint in errors.
     */
    public static ChatGlmWeights load(ChatGlmConfig cfg, Map<String, TensorRef> tensors, String source) {
        return load(cfg, tensors, source, QuantFormat.NONE, QuantFormat.NONE, null);
    }

    /**
     * Loads the weights, quantizing while loading when asked: each linear matrix is quantized row by row into
     * {@code arena} and its mapped source pages are released right away, so peak memory stays near the quantized
     * size. A checkpoint that is already quantized ({@code quantization_bit} in config.json) is used as it is.
     *
     * @param linears    format of the four linear layers of every block
     * @param embeddings format of the word embeddings, which are also the tied lm_head (the reference keeps fp16)
     */
    public static ChatGlmWeights load(ChatGlmConfig cfg, Map<String, TensorRef> tensors, String source,
                                      QuantFormat linears, QuantFormat embeddings, Arena arena) {
        return load(cfg, tensors, source, linears, embeddings, arena, null);
    }

    /** As above, quantizing with the threads of {@code pool} (null: on the caller's thread). */
    public static ChatGlmWeights load(ChatGlmConfig cfg, Map<String, TensorRef> tensors, String source,
                                      QuantFormat linears, QuantFormat embeddings, Arena arena,
                                      org.chatglm4j.tensor.Parallel pool) {
        if ((linears != QuantFormat.NONE || embeddings != QuantFormat.NONE) && arena == null) {
            throw new IllegalArgumentException("quantizing needs an arena for the quantized weights");
        }
        if (cfg.quantizationBit() != 0 && linears != QuantFormat.NONE) {
            throw new ChatGlmException(source + ": the checkpoint is already quantized to int" + cfg.quantizationBit()
                    + "; quantizing again needs a float16 checkpoint");
        }
        Loader l = new Loader(tensors, source, linears, arena, pool);
        if (cfg.isGlm2()) return loadGlm2(cfg, l, embeddings);
        int h = cfg.hiddenSize(), inner = cfg.innerHiddenSize();
        WeightMatrix wordEmbeddings = l.quantized(l.matrix("transformer.word_embeddings.weight", cfg.vocabSize(), h),
                embeddings, "transformer.word_embeddings.weight");
        LayerWeights[] layers = new LayerWeights[cfg.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "transformer.layers." + i + ".";
            layers[i] = new LayerWeights(
                    l.vector(p + "input_layernorm.weight", h), l.vector(p + "input_layernorm.bias", h),
                    l.linear(p + "attention.query_key_value", 3 * h, h, cfg),
                    l.linear(p + "attention.dense", h, h, cfg),
                    l.vector(p + "post_attention_layernorm.weight", h), l.vector(p + "post_attention_layernorm.bias", h),
                    l.linear(p + "mlp.dense_h_to_4h", inner, h, cfg),
                    l.linear(p + "mlp.dense_4h_to_h", h, inner, cfg));
        }
        return new ChatGlmWeights(cfg, wordEmbeddings, layers,
                l.vector("transformer.final_layernorm.weight", h), l.vector("transformer.final_layernorm.bias", h),
                wordEmbeddings);
    }

    /**
     * ChatGLM2/3: RMSNorms (weights only), fused QKV [P + 2·G·d, H] with bias, dense [H, P], SwiGLU h→4h [2F, H] and
     * 4h→h [H, F] without biases, a final RMSNorm and an untied {@code output_layer} [V, H]. The embeddings and the
     * output layer take the {@code embeddings} format (fp16 as stored when NONE).
     */
    private static ChatGlmWeights loadGlm2(ChatGlmConfig cfg, Loader l, QuantFormat embeddings) {
        int h = cfg.hiddenSize(), f = cfg.innerHiddenSize(), p = cfg.projectionSize();
        String emb = "transformer.embedding.word_embeddings.weight";
        WeightMatrix wordEmbeddings = l.quantized(l.matrix(emb, cfg.vocabSize(), h), embeddings, emb);
        LayerWeights[] layers = new LayerWeights[cfg.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String pre = "transformer.encoder.layers." + i + ".";
            layers[i] = new LayerWeights(
                    l.vector(pre + "input_layernorm.weight", h), null,
                    l.linear(pre + "self_attention.query_key_value", cfg.qkvSize(), h, cfg),
                    l.linearNoBias(pre + "self_attention.dense", h, p, cfg),
                    l.vector(pre + "post_attention_layernorm.weight", h), null,
                    l.linearNoBias(pre + "mlp.dense_h_to_4h", 2 * f, h, cfg),
                    l.linearNoBias(pre + "mlp.dense_4h_to_h", h, f, cfg));
        }
        String out = "transformer.output_layer.weight";
        WeightMatrix outputLayer = l.quantized(l.matrix(out, cfg.vocabSize(), h), embeddings, out);
        return new ChatGlmWeights(cfg, wordEmbeddings, layers,
                l.vector("transformer.encoder.final_layernorm.weight", h), null, outputLayer);
    }

    /** Parameter count of the model as the reference counts it (lm_head shares the embeddings). */
    public long parameterCount() {
        return parameterCount(config);
    }

    /** {@link #parameterCount()} from the configuration alone (e.g. for a checkpoint whose weights are not loaded). */
    public static long parameterCount(ChatGlmConfig c) {
        if (c.isGlm2()) {   // untied output layer; norms without bias; only the QKV has a bias
            long h = c.hiddenSize(), f = c.innerHiddenSize(), p = c.projectionSize(), qkv = c.qkvSize();
            long perLayer = 2 * h + (qkv * h + qkv) + h * p + 2 * f * h + h * f;
            return 2L * c.vocabSize() * h + c.numLayers() * perLayer + h;
        }
        long h = c.hiddenSize(), inner = c.innerHiddenSize();
        long perLayer = 4 * h + (3 * h * h + 3 * h) + (h * h + h) + (inner * h + inner) + (h * inner + h);
        return (long) c.vocabSize() * h + c.numLayers() * perLayer + 2 * h;
    }

    /** Bytes of weight data a decode step reads: every matrix once (embedding lookups are negligible). */
    public long bytesPerToken() {
        long n = lmHead.byteSize();
        for (LayerWeights w : layers) {
            n += w.queryKeyValue().weight().byteSize() + w.dense().weight().byteSize()
                    + w.denseHTo4h().weight().byteSize() + w.dense4hToH().weight().byteSize();
        }
        return n;
    }

    private record Loader(Map<String, TensorRef> tensors, String source, QuantFormat linears, Arena arena,
                          org.chatglm4j.tensor.Parallel pool) {

        TensorRef get(String name) {
            TensorRef t = tensors.get(name);
            if (t == null) throw new ChatGlmException(source + ": missing tensor " + name);
            return t;
        }

        void expectShape(TensorRef t, long... shape) {
            if (!Arrays.equals(t.shape(), shape)) {
                throw new ChatGlmException(t.file() + ": tensor " + t.name() + " has shape " + t.shapeString()
                        + ", expected " + Arrays.toString(shape));
            }
        }

        WeightMatrix matrix(String name, int rows, int cols) {
            TensorRef t = get(name);
            expectShape(t, rows, cols);
            return switch (t.dtype()) {
                case F32 -> new F32Matrix(t.data(), rows, cols);
                case F16 -> new F16Matrix(t.data(), rows, cols);
                case BF16 -> new BF16Matrix(t.data(), rows, cols);
                default -> throw new ChatGlmException(t.file() + ": tensor " + name + " has dtype "
                        + t.dtype().lowerName() + ", expected float32, float16 or bfloat16");
            };
        }

        Linear linear(String prefix, int rows, int cols, ChatGlmConfig cfg) {
            return linear(prefix, rows, cols, cfg, vector(prefix + ".bias", rows));
        }

        Linear linearNoBias(String prefix, int rows, int cols, ChatGlmConfig cfg) {
            return linear(prefix, rows, cols, cfg, null);
        }

        Linear linear(String prefix, int rows, int cols, ChatGlmConfig cfg, float[] bias) {
            String name = prefix + ".weight";
            return switch (cfg.quantizationBit()) {
                case 8 -> {   // reference QuantizedLinear: int8 [rows, cols] + fp16 weight_scale [rows], repacked once
                    TensorRef q = get(name);
                    expectShape(q, rows, cols);
                    expectDtype(q, DType.I8);
                    if (arena == null) throw new IllegalArgumentException("int8 checkpoints need an arena");
                    Int8Matrix m = Quantizer.repackReferenceInt8(q.data(), vector(prefix + ".weight_scale", rows),
                            rows, cols, arena, pool);
                    release(q);
                    yield new Linear(m, bias);
                }
                case 4 -> {   // packed int4 [rows, cols/2]: repacked once into chatglm4j's nibble order
                    TensorRef q = get(name);
                    expectShape(q, rows, cols / 2);
                    expectDtype(q, DType.I8);
                    if (arena == null) throw new IllegalArgumentException("int4 checkpoints need an arena");
                    Int4Matrix m = Quantizer.repackReferenceInt4(q.data(), vector(prefix + ".weight_scale", rows),
                            rows, cols, arena, pool);
                    release(q);
                    yield new Linear(m, bias);
                }
                default -> new Linear(quantized(matrix(name, rows, cols), linears, name), bias);
            };
        }

        WeightMatrix quantized(WeightMatrix m, QuantFormat format, String name) {
            if (format == QuantFormat.NONE) return m;
            WeightMatrix q = Quantizer.quantize(m, format, arena, pool);
            release(get(name));
            return q;
        }

        /** Gives a mapped tensor's pages back to the OS once it has been converted (keeps peak RSS low). */
        static void release(TensorRef t) {
            if (t.data().isMapped()) t.data().unload();
        }

        void expectDtype(TensorRef t, DType d) {
            if (t.dtype() != d) {
                throw new ChatGlmException(t.file() + ": tensor " + t.name() + " has dtype " + t.dtype().lowerName()
                        + ", expected " + d.lowerName());
            }
        }

        float[] vector(String name, int n) {
            TensorRef t = get(name);
            expectShape(t, n);
            return toFloats(t);
        }
    }

    /** A small tensor's values as float32 (fp16 and bf16 widen exactly). */
    public static float[] toFloats(TensorRef t) {
        MemorySegment s = t.data();
        int n = Math.toIntExact(t.numel());
        float[] out = new float[n];
        DType d = t.dtype();
        for (int i = 0; i < n; i++) {
            out[i] = switch (d) {
                case F32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                case F16 -> F16.toFloat(s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
                case BF16 -> F16.bf16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
                default -> throw new ChatGlmException(t.file() + ": tensor " + t.name() + " has dtype "
                        + d.lowerName() + ", expected a floating-point type");
            };
        }
        return out;
    }
}
