package org.chatglm4j.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tensor.WeightMatrix;

/**
 * The forward pass of ChatGLM2-6B / ChatGLM3-6B / CodeGeeX2-6B ({@code modeling_chatglm.py} of THUDM/chatglm2-6b),
 * beside ChatGLM-6B's in {@link Runner}, sharing its batches, caches, kernels and pool:
 *
 * <pre>
 * x = E[ids]
 * per layer:  a = RMSNorm(x)·w₁
 *             q [N, d], k [G, d], v [G, d] = a·W_qkvᵀ + b      (head h reads group h / (N/G))
 *             q, k rotated: first d/2 dims as interleaved pairs, by the 1D position
 *             x = x + softmax(q·kᵀ/√d, causal, −∞) · v · W_denseᵀ
 *             m = RMSNorm(x)·w₂
 *             x = x + (silu(m·W_gateᵀ) ⊙ m·W_upᵀ) · W_downᵀ     (W_h→4h = [W_gate; W_up], fused)
 * logits = RMSNorm(x)·w_f · W_outᵀ                          (untied output layer)
 * </pre>
 *
 * The cache holds only the G key/value groups: attention reads each of a group's keys and values once for all
 * the heads that share it, in place (nothing is copied per head). Owns its scratch (grown on demand, then reused: a decode loop allocates nothing).
 */
final class Glm2Forward {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** MLP rows processed at once: bounds the [rows, 2·ffn] scratch for long prompts. */
    private static final int MLP_CHUNK = 64;

    private final ChatGlmConfig cfg;
    private final ChatGlmWeights weights;
    private final Glm2Rotary rotary;
    private final Parallel pool;
    private final int h, heads, groups, headsPerGroup, d, p, qkvSize, ffn, vocab, pairs;
    private final float scale;

    private int capacity;
    private float[] x, a, qkv, ctx, tmp;          // [rows, h] / qkv [rows, qkvSize] / ctx [rows, p]
    private float[] cos, sin;                     // [rows, pairs]
    private int[] rowSegment;
    private final float[] up, gated;              // [MLP_CHUNK, 2·ffn], [MLP_CHUNK, ffn]
    private final LogitRows logitRows;           // the rows whose logits are wanted, a chunk at a time
    private final float[] logits;                // [LogitRows.CHUNK, vocab]
    private final LogitRows.Flush flushTask = this::flushLogits;
    private final ParallelLinear linear;
    private final float[][] query;               // per worker [headsPerGroup, d], prescaled
    private final float[][] rowBuf;              // per worker [d]: one key or value row as float32
    private float[][] scores;                    // per worker [headsPerGroup, keys]
    private int scoreStride;
    /** Heads of one group handled by one unit of attention work (a group is split when cores would idle). */
    private int headsPerUnit;

    // operands of the current parallel step
    private Batch batch;
    private Runner.LogitsSink sink;
    private int layer;
    private WeightMatrix linW;
    private float[] linX;
    private int linX0, linN;
    private float[] normIn, normOut, normW;

    private final Parallel.RangeTask swigluTask = this::swigluRows;
    private final Parallel.RangeTask normTask = this::normRows;
    private final Parallel.RangeTask ropeTask = this::ropeAndStoreRows;
    private final Parallel.RangeTask attentionTask = this::attentionUnits;

    Glm2Forward(ChatGlmModel model) {
        this.cfg = model.config();
        this.weights = model.weights();
        this.pool = model.pool();
        this.h = cfg.hiddenSize();
        this.heads = cfg.numAttentionHeads();
        this.groups = cfg.kvGroups();
        this.headsPerGroup = heads / groups;
        this.d = cfg.headSize();
        this.p = cfg.projectionSize();
        this.qkvSize = cfg.qkvSize();
        this.ffn = cfg.innerHiddenSize();
        this.vocab = cfg.vocabSize();
        this.rotary = new Glm2Rotary(cfg.rotaryDim());
        this.pairs = rotary.pairs();
        this.scale = (float) (1.0 / Math.sqrt(d));
        int t = pool.threads();
        this.up = new float[MLP_CHUNK * 2 * ffn];
        this.gated = new float[MLP_CHUNK * ffn];
        this.logitRows = new LogitRows(h);
        this.logits = new float[LogitRows.CHUNK * vocab];
        this.linear = new ParallelLinear(pool, Math.max(Math.max(h, p), ffn));
        this.query = new float[t][headsPerGroup * d];
        this.rowBuf = new float[t][d];
        this.scoreStride = KvCache.BLOCK;
        this.scores = new float[t][headsPerGroup * scoreStride];
    }

    void forward(Batch b, Runner.LogitsSink sink) {
        int rows = b.rows();
        if (rows == 0) return;
        ensureCapacity(rows);
        int maxKeys = b.reserveCaches(rowSegment);
        if (scoreStride < maxKeys) {
            scoreStride = Math.max(maxKeys, 2 * scoreStride);
            for (int i = 0; i < scores.length; i++) scores[i] = new float[headsPerGroup * scoreStride];
        }
        // enough units for every thread: split a group's heads when segments × groups are fewer than the threads
        int split = Math.min(headsPerGroup, Math.max(1, (pool.threads() + b.size() * groups - 1) / (b.size() * groups)));
        headsPerUnit = (headsPerGroup + split - 1) / split;
        this.batch = b;

        // x [rows, h] = word_embeddings[tokens]; rotary angles of each row's position
        for (int r = 0; r < rows; r++) {
            int token = b.token(r);
            if (token < 0 || token >= vocab) {
                throw new ChatGlmException("token id " + token + " is outside the vocabulary of " + vocab);
            }
            weights.wordEmbeddings().readRow(token, x, r * h);
            rotary.angles(b.position(r), cos, sin, r * pairs);
        }

        for (layer = 0; layer < cfg.numLayers(); layer++) {
            LayerWeights lw = weights.layers()[layer];
            // a = RMSNorm(x)·w₁
            rmsNorm(x, a, rows, lw.inputLayernormWeight());
            // qkv [rows, N·d + 2·G·d] = a · W_qkvᵀ + b
            linear(lw.queryKeyValue().weight(), lw.queryKeyValue().bias(), a, 0, rows, qkv, 0);
            // rotate q (N heads) and k (G groups); store k, v groups in the caches
            pool.forRange(rows, 1, ropeTask);
            // ctx [rows, N·d] = softmax(q·kᵀ/√d masked) · v, heads concatenated; units of (segment, group, heads)
            int unitsPerGroup = (headsPerGroup + headsPerUnit - 1) / headsPerUnit;
            pool.forRange(b.size() * groups * unitsPerGroup, 1, attentionTask);
            // x = x + ctx · W_denseᵀ
            linear(lw.dense().weight(), null, ctx, 0, rows, tmp, 0);
            addInto(x, tmp, rows * h);
            // m = RMSNorm(x)·w₂;  x = x + (silu(gate) ⊙ up) · W_downᵀ, in row chunks
            rmsNorm(x, a, rows, lw.postAttentionLayernormWeight());
            for (int r0 = 0; r0 < rows; r0 += MLP_CHUNK) {
                int n = Math.min(MLP_CHUNK, rows - r0);
                swiglu(lw.denseHTo4h().weight(), a, r0, n);
                linear(lw.dense4hToH().weight(), null, gated, 0, n, tmp, r0);
            }
            addInto(x, tmp, rows * h);
        }
        for (int s = 0; s < b.size(); s++) b.cache(s).advance(b.count(s));

        this.sink = sink;
        logitRows.emit(b, x, flushTask);
        this.sink = null;
        this.batch = null;
    }

    private static void addInto(float[] x, float[] y, int n) {
        int i = 0;
        for (; i + F.length() <= n; i += F.length()) {
            FloatVector.fromArray(F, x, i).add(FloatVector.fromArray(F, y, i)).intoArray(x, i);
        }
        for (; i < n; i++) x[i] += y[i];
    }

    /** Final RMSNorm and the output layer on the gathered rows {@code logitRows.hidden [n, h]}. */
    private void flushLogits(int n) {
        float[] hidden = logitRows.hidden;
        rmsNorm(hidden, hidden, n, weights.finalLayernormWeight());
        // logits [n, vocab] = hidden · W_outᵀ
        linear(weights.lmHead(), null, hidden, 0, n, logits, 0);
        for (int j = 0; j < n; j++) sink.accept(logitRows.segment[j], logitRows.index[j], logits, j * vocab);
    }

    // ---- parallel steps ----------------------------------------------------------------------------------------

    private void linear(WeightMatrix w, float[] bias, float[] in, int in0, int n, float[] out, int out0) {
        linear.run(w, bias, in, in0, n, out, out0, null);
    }

    /**
     * {@code gated [n, ffn] = silu(a·W_gateᵀ) ⊙ a·W_upᵀ} with {@code W_h→4h = [W_gate; W_up]}: each piece computes
     * gate rows {@code [r0, r1)} and the matching up rows {@code [ffn + r0, ffn + r1)} and gates them at once.
     */
    private void swiglu(WeightMatrix w, float[] in, int in0, int n) {
        linear.prepare(w, in, in0, n);
        linW = w;
        linX = in;
        linX0 = in0;
        linN = n;
        pool.forRange(ParallelLinear.tiles(ffn), 1, swigluTask);
        linW = null;
        linX = null;
    }

    private void swigluRows(int t0, int t1, int worker) {
        int r0 = t0 * ParallelLinear.TILE, r1 = Math.min(t1 * ParallelLinear.TILE, ffn);
        linear.multiply(linW, linX, linX0, linN, up, 0, r0, r1, worker);
        linear.multiply(linW, linX, linX0, linN, up, 0, ffn + r0, ffn + r1, worker);
        for (int b = 0; b < linN; b++) {
            int u = b * 2 * ffn, g = b * ffn;
            for (int r = r0; r < r1; r++) gated[g + r] = silu(up[u + r]) * up[u + ffn + r];
        }
    }

    /** {@code z·sigmoid(z)} in float32. */
    static float silu(float z) {
        return z / (1f + (float) Math.exp(-z));
    }

    private void rmsNorm(float[] in, float[] out, int n, float[] w) {
        normIn = in;
        normOut = out;
        normW = w;
        pool.forRange(n, 8, normTask);
        normIn = normOut = normW = null;
    }

    /** {@code out = w · x / sqrt(mean(x²) + eps)} per row. */
    private void normRows(int r0, int r1, int worker) {
        float eps = cfg.layernormEpsilon();
        for (int r = r0; r < r1; r++) {
            int o = r * h;
            double sq = 0;
            for (int i = 0; i < h; i++) sq += normIn[o + i] * normIn[o + i];
            float rstd = (float) (1.0 / Math.sqrt((float) (sq / h) + eps));
            for (int i = 0; i < h; i++) normOut[o + i] = normW[i] * (normIn[o + i] * rstd);
        }
    }

    /** Rotates the N query heads and G key groups of each row and stores the keys and values in its cache. */
    private void ropeAndStoreRows(int r0, int r1, int worker) {
        for (int r = r0; r < r1; r++) {
            int s = rowSegment[r];
            KvCache cache = batch.cache(s);
            int pos = cache.length() + (r - batch.start(s));
            int base = r * qkvSize;
            for (int hh = 0; hh < heads; hh++) rotary.apply(qkv, base + hh * d, cos, sin, r * pairs);
            for (int g = 0; g < groups; g++) {
                int k = base + p + g * d, v = base + p + groups * d + g * d;
                rotary.apply(qkv, k, cos, sin, r * pairs);
                cache.put(layer, pos, g, qkv, k, qkv, v);
            }
        }
    }

    /**
     * Attention of one (segment, group, run of the group's heads) per item: each cached key and value of the group
     * is read once for all those heads, in place (nothing is copied per head). Masked scores are −∞ (the
     * reference's {@code masked_fill(mask, -inf)}); every unmasked row has a visible key.
     */
    private void attentionUnits(int u0, int u1, int worker) {
        float[] q = query[worker];
        float[] sc = scores[worker];
        float[] buf = rowBuf[worker];
        int unitsPerGroup = (headsPerGroup + headsPerUnit - 1) / headsPerUnit;
        for (int u = u0; u < u1; u++) {
            int s = u / (groups * unitsPerGroup), rest = u % (groups * unitsPerGroup);
            int g = rest / unitsPerGroup;
            int h0 = g * headsPerGroup + (rest % unitsPerGroup) * headsPerUnit;
            int nh = Math.min(headsPerUnit, (g + 1) * headsPerGroup - h0);
            KvCache cache = batch.cache(s);
            int n = batch.count(s);
            int past = cache.length();
            int keys = past + n;
            int prefix = cache.prefixLength();
            int firstToken = past - prefix;
            AttentionMask mask = batch.mask(s);
            boolean none = mask.none();
            for (int i = 0; i < n; i++) {
                int row = batch.start(s) + i;
                int qo = row * qkvSize + h0 * d;
                for (int j = 0; j < nh * d; j++) q[j] = qkv[qo + j] * scale;
                cache.scoresShared(layer, g, q, 0, nh, keys, sc, scoreStride, buf);
                for (int j = 0; j < nh; j++) {
                    int o = j * scoreStride;
                    if (!none) {
                        for (int c = prefix; c < keys; c++) {
                            if (mask.masked(i, firstToken + i, c - prefix)) sc[o + c] = Float.NEGATIVE_INFINITY;
                        }
                    }
                    softmax(sc, o, keys);
                }
                int co = row * p + h0 * d;
                java.util.Arrays.fill(ctx, co, co + nh * d, 0f);
                cache.weightedValuesShared(layer, g, sc, scoreStride, nh, keys, ctx, co, d, buf);
            }
        }
    }

    /** Softmax of {@code s[o, o + n)} in place, float32 (−∞ entries become 0). */
    static void softmax(float[] s, int o, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = o; i < o + n; i++) max = Math.max(max, s[i]);
        float sum = 0;
        for (int i = o; i < o + n; i++) {
            float e = (float) Math.exp(s[i] - max);
            s[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = o; i < o + n; i++) s[i] *= inv;
    }

    private void ensureCapacity(int rows) {
        if (rows <= capacity) return;
        int c = Math.max(rows, Math.min(2 * capacity, rows + 256));
        x = new float[c * h];
        a = new float[c * h];
        tmp = new float[c * h];
        ctx = new float[c * p];
        qkv = new float[c * qkvSize];
        cos = new float[c * pairs];
        sin = new float[c * pairs];
        rowSegment = new int[c];
        capacity = c;
    }
}
