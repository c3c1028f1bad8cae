package org.chatglm4j.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.chatglm4j.tensor.Lanes;
import org.chatglm4j.tensor.MatMul;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tensor.WeightMatrix;

import java.util.Arrays;

/**
 * The backward pass of P-Tuning v2: from the gradient of the logits back through the frozen GLM blocks to the
 * prefix keys and values, using the {@link Activations} a {@link Runner} kept during its forward. The weights get
 * no gradient, so every linear layer only carries its output gradient back to its input, a transposed product
 * with the weights in their own (possibly quantized) format ({@link MatMul#multiplyTransposed}).
 *
 * <p>Per block, in reverse ({@code a = LN₁(x)}, {@code y = a·α + Attn(a)}, {@code m = LN₂(y)},
 * {@code out = m·α + W₂·gelu(W₁·m + b₁) + b₂}, α = √56): the MLP, LN₂, the output projection, attention (scores
 * recomputed from the kept q and k, the reference's −10000 mask and (layer+1) scaling), the rotary embedding
 * (rotation by the opposite angles), the qkv projection and LN₁. The prefix keys/values of layer l receive the
 * attention gradient of their positions; the token gradient stops at the (frozen) word embeddings.
 */
public final class Backward {
    private final ChatGlmConfig cfg;
    private final ChatGlmWeights weights;
    private final Rotary rotary;
    private final Parallel pool;
    private final int h, heads, hd, inner, angles;
    private final float[][] tiles;   // per worker, for the transposed products

    /**
     * A backward pass over {@code model}'s frozen weights, run on its compute pool. Keeps per-worker scratch, so one
     * instance serves one thread at a time.
     */
    public Backward(ChatGlmModel model) {
        this.cfg = model.config();
        this.weights = model.weights();
        this.rotary = model.rotary();
        this.pool = model.pool();
        this.h = cfg.hiddenSize();
        this.heads = cfg.numAttentionHeads();
        this.hd = cfg.headSize();
        this.inner = cfg.innerHiddenSize();
        this.angles = cfg.rotaryDim() / 2;
        this.tiles = new float[pool.threads()][MatMul.transposedScratchFloats()];
    }

    /**
     * Accumulates into {@code dPast[s]} ({@code [pre, 2·L·h]}, the layout of the prefix encoder's output) the
     * gradient of the loss with respect to segment s's prefix keys/values.
     *
     * @param b          the batch the forward ran on: every segment's cache held only the prefix before it
     * @param act        what that forward kept
     * @param past       per segment, the prefix keys/values its cache was filled with ({@code [pre, 2·L·h]})
     * @param rows       batch rows whose logits have a gradient
     * @param dLogits    {@code [rows.length, vocab]}: their gradients
     */
    public void run(Batch b, Activations act, float[][] past, int[] rows, float[] dLogits, float[][] dPast) {
        int n = b.rows(), pre = b.cache(0).prefixLength();
        for (int s = 0; s < b.size(); s++) {
            if (b.cache(s).prefixLength() != pre || b.cache(s).length() != pre + b.count(s)) {
                throw new IllegalStateException("backward needs caches that held only the prefix before the forward");
            }
        }
        float alpha = ChatGlmModel.ALPHA;
        // d(final hidden) [n, h]: lm_head (the word embeddings) transposed, then the final LayerNorm
        float[] dCompact = new float[rows.length * h];
        transposed(weights.lmHead(), dLogits, rows.length, dCompact);
        float[] dx = new float[n * h];
        for (int j = 0; j < rows.length; j++) System.arraycopy(dCompact, j * h, dx, rows[j] * h, h);
        layerNormBackward(act.last, dx, weights.finalLayernormWeight(), n);

        float[] dG = new float[n * inner], dm = new float[n * h], dCtx = new float[n * h], dQkv = new float[n * 3 * h];
        float[] cos = new float[n * angles], sin = new float[n * angles], cosB = new float[n * angles], sinB = new float[n * angles];
        for (int r = 0; r < n; r++) {
            rotary.angles(b.position(r), cos, sin, r * angles);
            if (cfg.positionEncoding2d()) rotary.angles(b.blockPosition(r), cosB, sinB, r * angles);
        }
        for (int l = cfg.numLayers() - 1; l >= 0; l--) {
            LayerWeights lw = weights.layers()[l];
            // MLP half: dG = dx·W₂ ⊙ gelu'(pre);  dm = α·dx + dG·W₁;  d(middle) = LN₂ᵀ(dm)
            Arrays.fill(dG, 0, n * inner, 0f);
            transposed(lw.dense4hToH().weight(), dx, n, dG);
            float[] pre0 = act.preGelu[l];
            pool.forRange(n * inner, 4096, (i0, i1, w) -> {
                for (int i = i0; i < i1; i++) dG[i] *= geluDerivative(pre0[i]);
            });
            for (int i = 0; i < n * h; i++) dm[i] = alpha * dx[i];
            transposed(lw.denseHTo4h().weight(), dG, n, dm);
            layerNormBackward(act.middle[l], dm, lw.postAttentionLayernormWeight(), n);
            // attention half: dCtx = d(middle)·W_dense;  da = α·d(middle) + dQkv·W_qkv;  dx = LN₁ᵀ(da)
            Arrays.fill(dCtx, 0, n * h, 0f);
            transposed(lw.dense().weight(), dm, n, dCtx);
            Arrays.fill(dQkv, 0, n * 3 * h, 0f);
            int layer = l;
            pool.forRange(b.size() * heads, 1, (u0, u1, w) -> {
                for (int u = u0; u < u1; u++) attentionBackward(b, act, past, dPast, layer, u / heads, u % heads, dCtx, dQkv);
            });
            pool.forRange(n, 1, (r0, r1, w) -> {
                int rd = cfg.rotaryDim();
                for (int r = r0; r < r1; r++) {
                    for (int hh = 0; hh < heads; hh++) {
                        int q = r * 3 * h + hh * 3 * hd, k = q + hd;
                        rotary.applyTransposed(dQkv, q, cos, sin, r * angles);
                        rotary.applyTransposed(dQkv, k, cos, sin, r * angles);
                        if (cfg.positionEncoding2d()) {
                            rotary.applyTransposed(dQkv, q + rd, cosB, sinB, r * angles);
                            rotary.applyTransposed(dQkv, k + rd, cosB, sinB, r * angles);
                        }
                    }
                }
            });
            for (int i = 0; i < n * h; i++) dx[i] = alpha * dm[i];
            transposed(lw.queryKeyValue().weight(), dQkv, n, dx);
            layerNormBackward(act.input[l], dx, lw.inputLayernormWeight(), n);
        }
    }

    /**
     * One (segment, head): recomputes the probabilities as the forward did, then carries d(context) back to q, to
     * the tokens' k and v, and to the prefix keys and values.
     */
    private void attentionBackward(Batch b, Activations act, float[][] past, float[][] dPast, int layer, int s, int hh,
                                   float[] dCtx, float[] dQkv) {
        float coeff = layer + 1;
        float qDiv = (float) (Math.sqrt(hd) * coeff);
        int pre = b.cache(s).prefixLength(), n = b.count(s), start = b.start(s), keys = pre + n;
        int stride = 2 * cfg.numLayers() * h, kPre = 2 * layer * h + hh * hd, vPre = kPre + h;
        float[] qkv = act.qkv[layer], pk = past[s], dpk = dPast[s];
        AttentionMask mask = b.mask(s);
        boolean none = mask.none();
        float[] p = new float[keys], dp = new float[keys], q = new float[hd], dq = new float[hd];
        for (int i = 0; i < n; i++) {
            int row = start + i, qo = row * 3 * h + hh * 3 * hd, co = row * h + hh * hd;
            for (int d = 0; d < hd; d++) q[d] = qkv[qo + d] / qDiv;
            for (int c = 0; c < keys; c++) {
                float[] src = c < pre ? pk : qkv;
                int ko = c < pre ? c * stride + kPre : (start + c - pre) * 3 * h + hh * 3 * hd + hd;
                int vo = c < pre ? c * stride + vPre : ko + hd;
                float dot = dot(q, 0, src, ko, hd), g = dot(dCtx, co, src, vo, hd);
                if (!none && c >= pre && mask.masked(i, i, c - pre)) dot = -10000f;
                p[c] = dot * coeff;
                dp[c] = g;
            }
            Runner.softmax(p, keys);
            double sum = 0;
            for (int c = 0; c < keys; c++) sum += (double) p[c] * dp[c];
            Arrays.fill(dq, 0f);
            for (int c = 0; c < keys; c++) {
                float[] src = c < pre ? pk : qkv, dst = c < pre ? dpk : dQkv;
                int ko = c < pre ? c * stride + kPre : (start + c - pre) * 3 * h + hh * 3 * hd + hd;
                int vo = c < pre ? c * stride + vPre : ko + hd;
                float pc = p[c];
                axpy(pc, dCtx, co, dst, vo, hd);                                   // dV += p·dctx
                if (!none && c >= pre && mask.masked(i, i, c - pre)) continue;      // a constant score: no gradient
                float dDot = (float) (pc * (dp[c] - sum)) * coeff;                 // d(q'·k)
                axpy(dDot, src, ko, dq, 0, hd);
                axpy(dDot, q, 0, dst, ko, hd);
            }
            for (int d = 0; d < hd; d++) dQkv[qo + d] += dq[d] / qDiv;
        }
    }

    private static final VectorSpecies<Float> V = FloatVector.SPECIES_PREFERRED;

    /** {@code Σ_d a[ao + d]·b[bo + d]} over one head's {@code len} dimensions. */
    static float dot(float[] a, int ao, float[] b, int bo, int len) {
        int d = 0, upper = V.loopBound(len);
        float s = 0f;
        if (upper > 0) {
            FloatVector acc = FloatVector.zero(V);
            for (; d < upper; d += V.length()) acc = FloatVector.fromArray(V, a, ao + d).fma(FloatVector.fromArray(V, b, bo + d), acc);
            s = Lanes.sum(acc);
        }
        for (; d < len; d++) s += a[ao + d] * b[bo + d];
        return s;
    }

    /** {@code y[yo + d] += α·x[xo + d]} over one head's {@code len} dimensions. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int len) {
        int d = 0, upper = V.loopBound(len);
        FloatVector av = FloatVector.broadcast(V, alpha);
        for (; d < upper; d += V.length()) {
            FloatVector.fromArray(V, x, xo + d).fma(av, FloatVector.fromArray(V, y, yo + d)).intoArray(y, yo + d);
        }
        for (; d < len; d++) y[yo + d] += alpha * x[xo + d];
    }

    /** {@code dx[n, w.cols()] += dy[n, w.rows()]·W}, split across the pool by column blocks. */
    private void transposed(WeightMatrix w, float[] dy, int n, float[] dx) {
        pool.forRange(MatMul.transposedBlocks(w), 1,
                (k0, k1, worker) -> MatMul.multiplyTransposed(w, dy, n, dx, k0, k1, tiles[worker]));
    }

    /**
     * In place: {@code d} holds d(LN(x)) and becomes dx, for {@code y = x̂·w + b}, {@code x̂ = (x − μ)·rstd}:
     * {@code dx = rstd·(g − mean(g) − x̂·mean(g·x̂))} with {@code g = dy·w}. Mean and variance as the forward has them.
     */
    private void layerNormBackward(float[] x, float[] d, float[] w, int n) {
        float eps = cfg.layernormEpsilon();
        pool.forRange(n, 8, (r0, r1, worker) -> {
            float[] xhat = new float[h];
            for (int r = r0; r < r1; r++) {
                int o = r * h;
                float mean = Runner.mean(x, o, h);
                float rstd = Runner.rstd(x, o, h, mean, eps);
                double mg = 0, mgx = 0;
                for (int i = 0; i < h; i++) {
                    xhat[i] = (x[o + i] - mean) * rstd;
                    float g = d[o + i] * w[i];
                    mg += g;
                    mgx += (double) g * xhat[i];
                }
                float a = (float) (mg / h), c = (float) (mgx / h);
                for (int i = 0; i < h; i++) d[o + i] = rstd * (d[o + i] * w[i] - a - xhat[i] * c);
            }
        });
    }

    /** d/dv of the tanh GELU {@code 0.5·v·(1 + tanh(A·v·(1 + B·v²)))}. */
    static float geluDerivative(float v) {
        double a = 0.7978845608028654, bb = 0.044715;
        double t = Math.tanh(a * v * (1 + bb * v * v));
        return (float) (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * a * (1 + 3 * bb * v * v));
    }
}
