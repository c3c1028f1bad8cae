package org.chatglm4j.model;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tensor.WeightMatrix;

/**
 * Runs forward passes of a {@link ChatGlmModel} over {@link Batch}es. Owns the scratch buffers (grown on demand,
 * then reused: a steady decode loop allocates nothing), so one runner serves one thread at a time.
 *
 * <p>Every parallel step is a method of this class held in a final field as a {@link Parallel.RangeTask}, its
 * operands passed through fields: dispatching it allocates nothing.
 */
public final class Runner {

    /** Receives logits: row {@code index} (among the segment's new tokens) of batch segment {@code segment}. */
    @FunctionalInterface
    public interface LogitsSink {
        /**
         * Called once per requested logits row, in batch order. {@code logits[offset, offset + vocab)} are the row's
         * values, in the runner's scratch: read or copy them during the call, not after.
         */
        void accept(int segment, int index, float[] logits, int offset);
    }

    /** MLP rows processed at once: bounds the [rows, inner] scratch for long prompts. */
    private static final int MLP_CHUNK = 128;
    /**
     * Rows whose q, k, v are computed at once (a last chunk takes up to twice as many, so that no chunk of a long
     * prompt falls into the matrix-vector regime): keys and values go straight to the cache, so a long prompt
     * keeps only its queries, not a [rows, 3h] array.
     */
    static final int QKV_CHUNK = 128;
    private final int qkvChunk;
    /** 0.7978845608028654 = √(2/π), the tanh-GELU constants of the reference, as float32. */
    private static final float GELU_A = 0.7978845608028654f, GELU_B = 0.044715f;

    private final ChatGlmConfig cfg;
    private final ChatGlmWeights weights;
    private final Rotary rotary;
    private final Parallel pool;
    private final int h, heads, hd, inner, vocab, angles;

    // scratch, sized for `capacity` rows
    private int capacity;
    // x: the hidden states, LayerNorm'd in place (GLM's residual adds the normalised input); qc: the rotated
    // queries, each (row, head) overwritten by its attention context; tmp: the outputs of dense and of the MLP
    private float[] x, qc, tmp;                  // [rows, h]
    private final float[] qkv;                   // [2·QKV_CHUNK, 3h]: one chunk of fused q, k, v
    private float[] cosP, sinP, cosB, sinB;      // [rows, angles]
    private int[] rowSegment;
    private final float[] mlp;                   // [MLP_CHUNK, inner]
    private int qkvRow0;                         // the batch row of qkv's first row
    private final LogitRows logitRows;           // the rows whose logits are wanted, a chunk at a time
    private final float[] logits;                // [LogitRows.CHUNK, vocab]
    private final LogitRows.Flush flushTask = this::flushLogits;
    private final ParallelLinear linear;         // null for ChatGLM2/3 (its forward has its own)
    private final float[][] query;               // per worker [hd]
    private float[][] scores;                    // per worker [keys]

    // operands of the current parallel step
    private Batch batch;
    private LogitsSink sink;
    private int layer;
    private LayerWeights lw;
    private float[] linPre;         // where the pre-activations of a GELU linear go when recording
    private int linPreRow0;
    private float[] normIn, normOut, normW, normB;
    private int normRow0;

    private final ParallelLinear.Epilogue geluEpilogue = this::geluRows;
    private final Parallel.RangeTask normTask = this::normRows;
    private final Parallel.RangeTask ropeTask = this::ropeAndStoreRows;
    private final Parallel.RangeTask attentionTask = this::attentionUnits;
    private final Parallel.RangeTask residualTask = this::residualRows;
    /** ChatGLM2/3's forward, chosen once here from the architecture; null for ChatGLM-6B. */
    private final Glm2Forward glm2;

    Runner(ChatGlmModel model) {
        this(model, QKV_CHUNK);
    }

    /** With {@code qkvChunk} rows of q, k, v at a time (tests compare chunkings). */
    Runner(ChatGlmModel model, int qkvChunk) {
        this.qkvChunk = qkvChunk;
        this.cfg = model.config();
        this.weights = model.weights();
        this.rotary = model.rotary();
        this.pool = model.pool();
        this.h = cfg.hiddenSize();
        this.heads = cfg.numAttentionHeads();
        this.hd = cfg.headSize();
        this.inner = cfg.innerHiddenSize();
        this.vocab = cfg.vocabSize();
        this.angles = cfg.rotaryDim() / 2;
        this.glm2 = cfg.isGlm2() ? new Glm2Forward(model) : null;
        int t = glm2 != null ? 0 : pool.threads();   // v2 keeps its own scratch
        int chunk = glm2 != null ? 0 : 1;
        this.mlp = new float[chunk * MLP_CHUNK * inner];
        this.qkv = new float[chunk * 2 * qkvChunk * 3 * h];
        this.logitRows = new LogitRows(chunk * h);
        this.logits = new float[chunk * LogitRows.CHUNK * vocab];
        this.linear = glm2 != null ? null : new ParallelLinear(pool, Math.max(h, inner));
        this.query = new float[t][hd];
        this.scores = new float[t][KvCache.BLOCK];
    }

    /**
     * One forward pass: appends every new token of the batch to its sequence's cache and hands the wanted logits
     * to {@code sink}, segment by segment in batch order.
     */
    public void forward(Batch b, LogitsSink sink) {
        forward(b, sink, null);
    }

    /**
     * As {@link #forward(Batch, LogitsSink)}, also keeping in {@code record} (when not null) what a backward pass
     * needs ({@link Activations}): training runs this very forward, not a copy of it. Training covers ChatGLM-6B
     * (v1) blocks only.
     */
    public void forward(Batch b, LogitsSink sink, Activations record) {
        if (glm2 != null) {
            if (record != null) {
                throw new ChatGlmException("P-Tuning training supports ChatGLM-6B models only, not ChatGLM2/3");
            }
            glm2.forward(b, sink);
            return;
        }
        int rows = b.rows();
        if (rows == 0) return;
        ensureCapacity(rows);
        int maxKeys = b.reserveCaches(rowSegment);
        if (scores[0].length < maxKeys) {
            for (int i = 0; i < scores.length; i++) scores[i] = new float[Math.max(maxKeys, 2 * scores[i].length)];
        }
        this.batch = b;
        if (record != null) record.begin(rows);

        // x [rows, h] = word_embeddings[tokens]
        for (int r = 0; r < rows; r++) {
            int token = b.token(r);
            if (token < 0 || token >= vocab) {
                throw new ChatGlmException("token id " + token + " is outside the vocabulary of " + vocab);
            }
            weights.wordEmbeddings().readRow(token, x, r * h);
            rotary.angles(b.position(r), cosP, sinP, r * angles);
            if (cfg.positionEncoding2d()) rotary.angles(b.blockPosition(r), cosB, sinB, r * angles);
        }

        for (layer = 0; layer < cfg.numLayers(); layer++) {
            lw = weights.layers()[layer];
            if (record != null) System.arraycopy(x, 0, record.input[layer], 0, rows * h);
            // a = LN₁(x), in place: x now holds a
            layerNorm(x, x, 0, rows, lw.inputLayernormWeight(), lw.inputLayernormBias());
            for (int r0 = 0, n; r0 < rows; r0 += n) {
                n = rows - r0 < 2 * qkvChunk ? rows - r0 : qkvChunk;
                // qkv [n, 3h] = a · W_qkvᵀ + b
                linear(lw.queryKeyValue().weight(), lw.queryKeyValue().bias(), x, r0, n, qkv, 0, false);
                // rotate q and k by their positions; store k, v in the caches and q in qc
                qkvRow0 = r0;
                pool.forRange(n, 1, ropeTask);
                if (record != null) System.arraycopy(qkv, 0, record.qkv[layer], r0 * 3 * h, n * 3 * h);
            }
            // qc [rows, h] = softmax(q·kᵀ masked) · v, heads concatenated, each over its own query
            pool.forRange(b.size() * heads, 1, attentionTask);
            // tmp = ctx · W_denseᵀ + b;  x = a·α + tmp   (the attention block's residual)
            linear(lw.dense().weight(), lw.dense().bias(), qc, 0, rows, tmp, 0, false);
            residual(rows);
            if (record != null) System.arraycopy(x, 0, record.middle[layer], 0, rows * h);
            // a = LN₂(x) in place;  x = a·α + W₂·gelu(W₁·a + b₁) + b₂   (MLP in row chunks)
            layerNorm(x, x, 0, rows, lw.postAttentionLayernormWeight(), lw.postAttentionLayernormBias());
            for (int r0 = 0; r0 < rows; r0 += MLP_CHUNK) {
                int n = Math.min(MLP_CHUNK, rows - r0);
                linPre = record == null ? null : record.preGelu[layer];
                linPreRow0 = r0;
                linear(lw.denseHTo4h().weight(), lw.denseHTo4h().bias(), x, r0, n, mlp, 0, true);
                linPre = null;
                linear(lw.dense4hToH().weight(), lw.dense4hToH().bias(), mlp, 0, n, tmp, r0, false);
            }
            residual(rows);
        }
        for (int s = 0; s < b.size(); s++) b.cache(s).advance(b.count(s));
        if (record != null) System.arraycopy(x, 0, record.last, 0, rows * h);

        this.sink = sink;
        logitRows.emit(b, x, flushTask);
        this.sink = null;
        this.batch = null;
        this.lw = null;
    }

    /** Final LayerNorm and lm_head on the gathered rows {@code logitRows.hidden [n, h]}. */
    private void flushLogits(int n) {
        float[] hidden = logitRows.hidden;
        layerNorm(hidden, hidden, 0, n, weights.finalLayernormWeight(), weights.finalLayernormBias());
        // logits [n, vocab] = hidden · lm_headᵀ   (lm_head is the word embedding matrix)
        linear(weights.lmHead(), null, hidden, 0, n, logits, 0, false);
        for (int j = 0; j < n; j++) sink.accept(logitRows.segment[j], logitRows.index[j], logits, j * vocab);
    }

    // ---- parallel steps ----------------------------------------------------------------------------------------

    private void linear(WeightMatrix w, float[] bias, float[] in, int in0, int n, float[] out, int out0, boolean gelu) {
        linear.run(w, bias, in, in0, n, out, out0, gelu ? geluEpilogue : null);
    }

    /** GELU in place on the h→4h outputs, keeping the pre-activations first when recording for training. */
    private void geluRows(float[] y, int base, int b, int r0, int r1) {
        if (linPre != null) System.arraycopy(y, base + r0, linPre, (linPreRow0 + b) * inner + r0, r1 - r0);
        for (int r = r0; r < r1; r++) y[base + r] = gelu(y[base + r]);
    }

    /** The reference's tanh approximation, evaluated in float32 like the TorchScript'd gelu_impl. */
    static float gelu(float v) {
        return 0.5f * v * (1f + (float) Math.tanh(GELU_A * v * (1f + GELU_B * v * v)));
    }

    private void layerNorm(float[] in, float[] out, int row0, int n, float[] w, float[] bias) {
        normIn = in;
        normOut = out;
        normW = w;
        normB = bias;
        normRow0 = row0;
        pool.forRange(n, 8, normTask);
        normIn = normOut = normW = normB = null;
    }

    private void normRows(int r0, int r1, int worker) {
        float eps = cfg.layernormEpsilon();
        for (int r = normRow0 + r0; r < normRow0 + r1; r++) {
            int o = r * h;
            float mean = mean(normIn, o, h);
            float rstd = rstd(normIn, o, h, mean, eps);
            for (int i = 0; i < h; i++) normOut[o + i] = (normIn[o + i] - mean) * rstd * normW[i] + normB[i];
        }
    }

    /** LayerNorm's mean of {@code x[o, o + h)}: summed in double, as float32 (the backward pass recomputes it so). */
    static float mean(float[] x, int o, int h) {
        double sum = 0;
        for (int i = 0; i < h; i++) sum += x[o + i];
        return (float) (sum / h);
    }

    /** LayerNorm's {@code 1 / sqrt(var + eps)} of {@code x[o, o + h)} around {@code mean}. */
    static float rstd(float[] x, int o, int h, float mean, float eps) {
        double sq = 0;
        for (int i = 0; i < h; i++) {
            float d = x[o + i] - mean;
            sq += d * d;
        }
        return (float) (1.0 / Math.sqrt((float) (sq / h) + eps));
    }

    private void residual(int rows) {
        pool.forRange(rows, 8, residualTask);
    }

    /** x = a·α + tmp, with a in x: the scaled-input residual of both halves of a GLM block. */
    private void residualRows(int r0, int r1, int worker) {
        for (int i = r0 * h; i < r1 * h; i++) x[i] = x[i] * ChatGlmModel.ALPHA + tmp[i];
    }

    /**
     * Rotates q and k of each row (2D: the first half of every head by the position id, the second half by the
     * block position id; 1D: the whole head by the position id) of the qkv chunk's rows {@code [r0, r1)}, stores k
     * and v in the row's cache and q in {@code qc}.
     */
    private void ropeAndStoreRows(int r0, int r1, int worker) {
        int rd = cfg.rotaryDim();
        for (int c = r0; c < r1; c++) {
            int r = qkvRow0 + c;
            int s = rowSegment[r];
            KvCache cache = batch.cache(s);
            int pos = cache.length() + (r - batch.start(s));
            for (int hh = 0; hh < heads; hh++) {
                int q = c * 3 * h + hh * 3 * hd, k = q + hd, v = k + hd;
                rotary.apply(qkv, q, cosP, sinP, r * angles);
                rotary.apply(qkv, k, cosP, sinP, r * angles);
                if (cfg.positionEncoding2d()) {
                    rotary.apply(qkv, q + rd, cosB, sinB, r * angles);
                    rotary.apply(qkv, k + rd, cosB, sinB, r * angles);
                }
                cache.put(layer, pos, hh, qkv, k, qkv, v);
                System.arraycopy(qkv, q, qc, r * h + hh * hd, hd);
            }
        }
    }

    /**
     * Attention of one (segment, head) unit per item. The reference's order of operations, which fixes what a
     * masked score is: q' = q / (√hd·(layer+1)); s = q'·k; masked s = −10000; s ·= (layer+1); softmax in float32.
     */
    private void attentionUnits(int u0, int u1, int worker) {
        float coeff = layer + 1;
        float qDiv = (float) (Math.sqrt(hd) * coeff);
        float[] q = query[worker];
        float[] sc = scores[worker];
        for (int u = u0; u < u1; u++) {
            int s = u / heads, hh = u % heads;
            KvCache cache = batch.cache(s);
            int n = batch.count(s);
            int past = cache.length();               // keys [past, past + n) were just stored
            int keys = past + n;
            int prefix = cache.prefixLength();
            int firstToken = past - prefix;          // token index of the segment's first new token
            AttentionMask mask = batch.mask(s);
            boolean none = mask.none();
            for (int i = 0; i < n; i++) {
                int row = batch.start(s) + i;
                int co = row * h + hh * hd;               // this query's place in qc, then its context's
                for (int d = 0; d < hd; d++) q[d] = qc[co + d] / qDiv;
                cache.scores(layer, hh, q, keys, sc);
                for (int c = 0; c < keys; c++) {
                    float dot = sc[c];
                    if (!none && c >= prefix && mask.masked(i, firstToken + i, c - prefix)) dot = -10000f;
                    sc[c] = dot * coeff;
                }
                softmax(sc, keys);
                java.util.Arrays.fill(qc, co, co + hd, 0f);
                cache.weightedValues(layer, hh, sc, keys, qc, co);
            }
        }
    }

    static void softmax(float[] s, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, s[i]);
        float sum = 0;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(s[i] - max);
            s[i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) s[i] *= inv;
    }

    private void ensureCapacity(int rows) {
        if (rows <= capacity) return;
        int c = Math.max(rows, Math.min(2 * capacity, rows + 256));
        x = new float[c * h];
        qc = new float[c * h];
        tmp = new float[c * h];
        cosP = new float[c * angles];
        sinP = new float[c * angles];
        cosB = new float[c * angles];
        sinB = new float[c * angles];
        rowSegment = new int[c];
        capacity = c;
    }
}
