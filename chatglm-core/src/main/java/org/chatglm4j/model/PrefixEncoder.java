package org.chatglm4j.model;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.io.TensorRef;

import java.util.Arrays;
import java.util.Map;

/**
 * P-Tuning v2's prefix encoder: {@code pre_seq_len} learned vectors turned into past keys and values for every
 * layer, prepended to each sequence's cache and visible to every query. Without projection the embedding is the
 * output ({@code [pre, 2·L·h]}); with projection it is {@code Linear(h, 2·L·h)(tanh(Linear(h, h)(embedding)))}.
 * The output viewed as {@code [pre, 2L, heads, hd]} gives layer i its keys in slice 2i and values in slice 2i+1;
 * no rotary embedding is applied to them. (Prefix dropout is inactive in eval mode.)
 */
public record PrefixEncoder(int preSeqLen, boolean projection, float[] embedding,
                            float[] trans0Weight, float[] trans0Bias, float[] trans2Weight, float[] trans2Bias) {

    public static final String PREFIX = "transformer.prefix_encoder.";

    /** Loads the prefix encoder tensors (names with or without the {@code transformer.prefix_encoder.} prefix). */
    public static PrefixEncoder load(ChatGlmConfig cfg, Map<String, TensorRef> tensors, String source) {
        int pre = cfg.preSeqLen(), h = cfg.hiddenSize(), out = 2 * cfg.numLayers() * cfg.kvWidth();
        // the projection's input: the hidden size in v1, the key/value size in v2 (trans.0 maps it to hidden)
        int e = cfg.isGlm2() ? out : h;
        if (pre <= 0) throw new ChatGlmException(source + ": config has no pre_seq_len, not a P-tuning checkpoint");
        if (!cfg.prefixProjection()) {
            return new PrefixEncoder(pre, false, get(tensors, "embedding.weight", source, pre, out), null, null, null, null);
        }
        return new PrefixEncoder(pre, true,
                get(tensors, "embedding.weight", source, pre, e),
                get(tensors, "trans.0.weight", source, h, e), get(tensors, "trans.0.bias", source, h),
                get(tensors, "trans.2.weight", source, out, h), get(tensors, "trans.2.bias", source, out));
    }

    private static float[] get(Map<String, TensorRef> tensors, String name, String source, long... shape) {
        TensorRef t = tensors.get(PREFIX + name);
        if (t == null) t = tensors.get(name);
        if (t == null) throw new ChatGlmException(source + ": missing tensor " + PREFIX + name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new ChatGlmException(t.file() + ": tensor " + t.name() + " has shape " + t.shapeString()
                    + ", expected " + Arrays.toString(shape));
        }
        return ChatGlmWeights.toFloats(t);
    }

    /** The past keys/values {@code [pre, 2·L·h]}: row p holds, for each layer, its key then its value vector. */
    public float[] pastKeyValues(ChatGlmConfig cfg) {
        int h = cfg.hiddenSize(), out = 2 * cfg.numLayers() * cfg.kvWidth();
        int e = cfg.isGlm2() ? out : h;
        if (!projection) return embedding.clone();
        float[] result = new float[preSeqLen * out];
        float[] hidden = new float[h];
        for (int p = 0; p < preSeqLen; p++) {
            for (int o = 0; o < h; o++) {           // hidden = tanh(e · W₀ᵀ + b₀)
                float s = 0;
                for (int i = 0; i < e; i++) s += embedding[p * e + i] * trans0Weight[o * e + i];
                hidden[o] = (float) Math.tanh(s + trans0Bias[o]);
            }
            for (int o = 0; o < out; o++) {         // past = hidden · W₂ᵀ + b₂
                float s = 0;
                for (int i = 0; i < h; i++) s += hidden[i] * trans2Weight[o * h + i];
                result[p * out + o] = s + trans2Bias[o];
            }
        }
        return result;
    }
}
