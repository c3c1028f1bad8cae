package org.chatglm4j.train;

import org.chatglm4j.io.TorchZipWriter.NamedTensor;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.PrefixEncoder;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The trainable parameters of the prefix encoder and their gradients, named and ordered as the reference's
 * {@code state_dict()} ({@code transformer.prefix_encoder.embedding.weight}, then with projection
 * {@code trans.0.weight, trans.0.bias, trans.2.weight, trans.2.bias}). The forward is {@link PrefixEncoder}'s own.
 */
public final class TrainablePrefix {
    private final ChatGlmConfig cfg;
    private final int pre, h, out;
    private final boolean projection;
    private final List<String> names = new ArrayList<>();
    private final List<long[]> shapes = new ArrayList<>();
    private final List<float[]> params = new ArrayList<>();
    private final List<float[]> grads = new ArrayList<>();

    /** Takes (copies of) the encoder's tensors. */
    public TrainablePrefix(ChatGlmConfig cfg, PrefixEncoder enc) {
        this.cfg = cfg;
        this.pre = enc.preSeqLen();
        this.projection = enc.projection();
        this.h = cfg.hiddenSize();
        this.out = 2 * cfg.numLayers() * h;
        if (!projection) {
            add("embedding.weight", enc.embedding(), pre, out);
        } else {
            add("embedding.weight", enc.embedding(), pre, h);
            add("trans.0.weight", enc.trans0Weight(), h, h);
            add("trans.0.bias", enc.trans0Bias(), h);
            add("trans.2.weight", enc.trans2Weight(), out, h);
            add("trans.2.bias", enc.trans2Bias(), out);
        }
    }

    /**
     * A fresh encoder initialised as PyTorch initialises the reference's modules: {@code nn.Embedding} from
     * N(0, 1), each {@code nn.Linear} weight and bias uniform in ±1/√in (Kaiming-uniform with a = √5). The random
     * stream is Java's, so the values differ from a Python run with the same seed.
     */
    public static TrainablePrefix initial(ChatGlmConfig cfg, int preSeqLen, boolean projection, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int h = cfg.hiddenSize(), out = 2 * cfg.numLayers() * h;
        float[] emb = new float[preSeqLen * (projection ? h : out)];
        for (int i = 0; i < emb.length; i++) emb[i] = (float) rnd.nextGaussian();
        if (!projection) return new TrainablePrefix(cfg, new PrefixEncoder(preSeqLen, false, emb, null, null, null, null));
        float bound = (float) (1 / Math.sqrt(h));
        return new TrainablePrefix(cfg, new PrefixEncoder(preSeqLen, true, emb,
                uniform(h * h, bound, rnd), uniform(h, bound, rnd), uniform(out * h, bound, rnd), uniform(out, bound, rnd)));
    }

    private static float[] uniform(int n, float bound, SplittableRandom rnd) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((rnd.nextDouble() * 2 - 1) * bound);
        return a;
    }

    private void add(String name, float[] values, long... shape) {
        names.add(PrefixEncoder.PREFIX + name);
        shapes.add(shape);
        params.add(values.clone());
        grads.add(new float[values.length]);
    }

    /** Prefix length: positions of keys/values the encoder produces. */
    public int preSeqLen() {
        return pre;
    }

    /** Whether the encoder has the two-layer MLP ({@code trans.0}, {@code trans.2}) after its embedding. */
    public boolean projection() {
        return projection;
    }

    /** Full {@code state_dict} names of the parameters, in order. */
    public List<String> names() {
        return names;
    }

    /** The parameter arrays, in {@link #names()} order: the live values an optimizer updates in place. */
    public List<float[]> parameters() {
        return params;
    }

    /**
     * The gradient arrays, in {@link #names()} order, accumulated by {@link #backward}: the live buffers, not copies.
     */
    public List<float[]> gradients() {
        return grads;
    }

    /** Number of trainable scalars. */
    public long parameterCount() {
        long n = 0;
        for (float[] p : params) n += p.length;
        return n;
    }

    /** The current parameters as an encoder (sharing the arrays: valid until the next update). */
    public PrefixEncoder encoder() {
        return projection ? new PrefixEncoder(pre, true, params.get(0), params.get(1), params.get(2), params.get(3), params.get(4))
                : new PrefixEncoder(pre, false, params.get(0), null, null, null, null);
    }

    /** The prefix keys/values {@code [pre, 2·L·h]} of the current parameters. */
    public float[] past() {
        return encoder().pastKeyValues(cfg);
    }

    /** Sets every gradient to zero, before a new accumulation. */
    public void zeroGradients() {
        for (float[] g : grads) java.util.Arrays.fill(g, 0f);
    }

    /** Adds the gradient of the parameters given the gradient {@code dPast} of the encoder's output. */
    public void backward(float[] dPast) {
        if (!projection) {
            float[] g = grads.get(0);
            for (int i = 0; i < g.length; i++) g[i] += dPast[i];
            return;
        }
        float[] e = params.get(0), w0 = params.get(1), b0 = params.get(2), w2 = params.get(3);
        float[] ge = grads.get(0), gw0 = grads.get(1), gb0 = grads.get(2), gw2 = grads.get(3), gb2 = grads.get(4);
        float[] hid = new float[h], dHid = new float[h];
        for (int p = 0; p < pre; p++) {
            for (int o = 0; o < h; o++) {          // hid = tanh(e·W₀ᵀ + b₀), as the forward computes it
                float s = 0;
                for (int i = 0; i < h; i++) s += e[p * h + i] * w0[o * h + i];
                hid[o] = (float) Math.tanh(s + b0[o]);
            }
            java.util.Arrays.fill(dHid, 0f);
            for (int o = 0; o < out; o++) {        // past = hid·W₂ᵀ + b₂
                float d = dPast[p * out + o];
                if (d == 0f) continue;
                gb2[o] += d;
                for (int i = 0; i < h; i++) {
                    gw2[o * h + i] += d * hid[i];
                    dHid[i] += d * w2[o * h + i];
                }
            }
            for (int o = 0; o < h; o++) {
                float d = dHid[o] * (1 - hid[o] * hid[o]);
                gb0[o] += d;
                for (int i = 0; i < h; i++) {
                    gw0[o * h + i] += d * e[p * h + i];
                    ge[p * h + i] += d * w0[o * h + i];
                }
            }
        }
    }

    /** Copies of the parameters as named tensors, in state_dict order. */
    public List<NamedTensor> tensors() {
        List<NamedTensor> t = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) t.add(new NamedTensor(names.get(i), shapes.get(i), params.get(i).clone()));
        return t;
    }

    /** Copies of the given per-parameter arrays (optimizer moments) named {@code <parameter>.<suffix>}. */
    public List<NamedTensor> tensors(List<float[]> values, String suffix) {
        List<NamedTensor> t = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) t.add(new NamedTensor(names.get(i) + "." + suffix, shapes.get(i), values.get(i).clone()));
        return t;
    }
}
