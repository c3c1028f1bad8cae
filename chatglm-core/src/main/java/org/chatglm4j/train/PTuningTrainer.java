package org.chatglm4j.train;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.model.Activations;
import org.chatglm4j.model.Backward;
import org.chatglm4j.model.Batch;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.model.PrefixEncoder;
import org.chatglm4j.model.PromptLayout;
import org.chatglm4j.model.Runner;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * P-Tuning v2 training as {@code ptuning/main.py} runs it with the Hugging Face Trainer of transformers 4.27: the
 * model stays frozen, only the prefix encoder learns. Per optimizer step, {@code gradient_accumulation_steps}
 * micro-batches each add the gradient of their loss divided by that count (the loss: shifted cross-entropy over
 * the labels that are not −100, averaged over the micro-batch); the global gradient norm is clipped; AdamW
 * ({@link AdamW}) updates with a learning rate decaying linearly to 0 without warm-up.
 *
 * <pre>{@code
 * TrainingOptions o = TrainingOptions.builder(Path.of("train.json"), "content", "summary", Path.of("out")).build();
 * try (ChatGLM base = ChatGLM.load(Path.of("chatglm-6b"), LoadOptions.defaults().withQuantize(QuantFormat.INT4))) {
 *     new PTuningTrainer(base.model(), base.tokenizer(), o).train(new TrainingListener() {});
 * }
 * }</pre>
 *
 * The forward is the model's own {@link Runner} (keeping {@link Activations}), the backward {@link Backward}.
 * Checkpoints: {@link TrainingCheckpoint}. One run at a time per trainer; {@link #requestStop()} may be called
 * from any thread (Ctrl-C): the current step finishes, a checkpoint is written, {@link #train} returns.
 */
public final class PTuningTrainer {
    private final ChatGlmModel model;
    private final ChatGlmConfig cfg;
    private final ChatGlmTokenizer tokenizer;
    private final TrainingOptions options;
    private final Runner runner;
    private final Backward backward;
    private final Activations activations;
    private final List<TrainingExample> examples;
    private final List<TrainingExample> validation;
    private TrainablePrefix prefix;
    private volatile boolean stopRequested;

    /**
     * A trainer of a P-Tuning v2 prefix for {@code model}; reads and preprocesses the data of {@code options} now.
     *
     * @param model the base model (its own prefix, if any, is ignored); KV caches must be float32
     */
    public PTuningTrainer(ChatGlmModel model, ChatGlmTokenizer tokenizer, TrainingOptions options) {
        this.model = model;
        this.cfg = model.config();
        this.tokenizer = tokenizer;
        this.options = options;
        if (model.kvPrecision() != KvCache.Precision.F32) {
            throw new ChatGlmException("training needs float32 attention caches (--kv-cache f32)");
        }
        int length = options.maxSourceLength() + options.maxTargetLength();
        if (options.preSeqLen() + length > cfg.maxSequenceLength()) {
            throw new ChatGlmException("--max-source-length " + options.maxSourceLength() + " + --max-target-length "
                    + options.maxTargetLength() + " + --pre-seq-len " + options.preSeqLen() + " = "
                    + (options.preSeqLen() + length) + " exceeds the model's max_sequence_length "
                    + cfg.maxSequenceLength());
        }
        if (options.prefixHiddenSize() != 0 && options.prefixHiddenSize() != cfg.hiddenSize()) {
            throw new ChatGlmException("--prefix-hidden-size " + options.prefixHiddenSize() + ": ChatGLM-6B's prefix "
                    + "encoder projects through hidden_size (" + cfg.hiddenSize() + ") only");
        }
        this.examples = load(options.trainFile());
        this.validation = options.validationFile() == null ? List.of() : load(options.validationFile());
        this.runner = model.newRunner();
        this.backward = new Backward(model);
        this.activations = new Activations(cfg);
        this.prefix = initialPrefix();
    }

    private List<TrainingExample> load(Path file) {
        List<TrainingRow> rows = DataFile.read(file, options.promptColumn(), options.responseColumn(), options.historyColumn());
        return Preprocessing.examples(rows, tokenizer, options.sourcePrefix(), options.historyColumn() != null,
                options.maxSourceLength(), options.maxTargetLength(), file);
    }

    /** The preprocessed training examples, in file order. */
    public List<TrainingExample> examples() {
        return examples;
    }

    /** The parameters being trained (after {@link #train}, the final ones). */
    public TrainablePrefix prefix() {
        return prefix;
    }

    /** Asks the running {@link #train} to stop after the current step, saving a checkpoint. */
    public void requestStop() {
        stopRequested = true;
    }

    /** Memory the training needs beyond the weights: activations and gradients of one micro-batch, optimizer. */
    public long estimatedBytes(long parameters) {
        int rows = options.batchSize() * (options.maxSourceLength() + options.maxTargetLength());
        int h = cfg.hiddenSize();
        long act = Activations.bytes(cfg, rows);
        long grads = 4L * rows * (cfg.innerHiddenSize() + 7L * h);                          // backward scratch
        long logits = 4L * options.batchSize() * options.maxTargetLength() * cfg.vocabSize(); // d(logits)
        long caches = 4L * 2 * cfg.numLayers() * options.batchSize()
                * (rows / options.batchSize() + options.preSeqLen() + KvCache.BLOCK) * h;
        long past = 4L * (options.batchSize() + 2) * options.preSeqLen() * 2L * cfg.numLayers() * h;
        return act + grads + logits + caches + past + 4L * 4 * parameters;               // params, grads, m, v
    }

    /** Starting parameters: the checkpoint given, or a fresh encoder from the seed. */
    private TrainablePrefix initialPrefix() {
        Path init = options.init();
        if (init == null) return TrainablePrefix.initial(cfg, options.preSeqLen(), options.prefixProjection(), options.seed());
        ChatGlmConfig pcfg = ChatGlmConfig.load(init.resolve("config.json"));
        if (pcfg.preSeqLen() != options.preSeqLen() || pcfg.prefixProjection() != options.prefixProjection()) {
            throw new ChatGlmException(init + ": the checkpoint has pre_seq_len " + pcfg.preSeqLen()
                    + " and prefix_projection " + pcfg.prefixProjection() + ", the options say " + options.preSeqLen()
                    + " and " + options.prefixProjection());
        }
        try (Checkpoint ck = Checkpoint.open(init)) {
            PrefixEncoder enc = PrefixEncoder.load(cfg.withPrefix(options.preSeqLen(), options.prefixProjection()),
                    ck.tensors(), init.toString());
            return new TrainablePrefix(cfg, enc);
        }
    }

    /** Runs the training (or the rest of it, with resume) and returns the final state. */
    public TrainingResult train(TrainingListener listener) {
        stopRequested = false;
        TrainingCheckpoint store = new TrainingCheckpoint(options.outputDir(), cfg, options);
        TrainingCheckpoint.Resumed resumed = options.resume() ? store.latest() : null;
        if (options.resume() && resumed == null) {
            throw new ChatGlmException(options.outputDir() + ": --resume found no checkpoint-N folder to continue from");
        }
        if (resumed != null) prefix = resumed.prefix();
        AdamW adam = new AdamW(prefix.parameters(), 0.0);
        int step = 0;
        List<Map<String, Object>> history = new ArrayList<>();
        if (resumed != null) {
            adam.restore(resumed.firstMoments(), resumed.secondMoments(), resumed.step());
            step = resumed.step();
            history.addAll(resumed.logHistory());
        }
        long estimate = estimatedBytes(prefix.parameterCount());
        Runtime rt = Runtime.getRuntime();
        long available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (estimate > available) {
            throw new ChatGlmException(String.format(java.util.Locale.ROOT, "training needs about %.1f GiB of Java heap "
                            + "beyond the weights, %.1f GiB is free: lower --per-device-train-batch-size or the "
                            + "max source/target lengths, or raise -Xmx", estimate / 1073741824.0, available / 1073741824.0));
        }
        store.prepare(history, resumed != null);
        listener.started(new TrainingListener.TrainingPlan(step, options.maxSteps(), examples.size(),
                prefix.parameterCount(), estimate));

        long t0 = System.nanoTime();
        int stepsThisRun = 0, lastSaved = resumed != null ? step : -1;
        double lossSinceLog = 0, lossSum = 0;
        int stepsSinceLog = 0;
        while (step < options.maxSteps()) {
            double lr = learningRate(step);
            prefix.zeroGradients();
            double stepLoss = 0;
            long tokens = 0;
            for (int j = 0; j < options.gradientAccumulationSteps(); j++) {
                long micro = (long) step * options.gradientAccumulationSteps() + j;
                List<TrainingExample> mb = microBatch(micro);
                stepLoss += lossAndGradient(mb, 1.0 / options.gradientAccumulationSteps(), micro, true);
                long microTokens = 0;
                for (TrainingExample e : mb) microTokens += e.tokens(cfg.padTokenId());
                tokens += microTokens;
                listener.microBatchDone(step, j + 1, options.gradientAccumulationSteps(), microTokens, System.nanoTime() - t0);
            }
            stepLoss /= options.gradientAccumulationSteps();
            double norm = gradientNorm(prefix.gradients());
            if (options.maxGradNorm() > 0) clip(prefix.gradients(), norm, options.maxGradNorm());
            adam.update(prefix.parameters(), prefix.gradients(), lr);
            step++;
            stepsThisRun++;
            lossSinceLog += stepLoss;
            lossSum += stepLoss;
            stepsSinceLog++;
            listener.stepped(new TrainingListener.StepReport(step, options.maxSteps(), stepLoss, lr, norm, tokens,
                    System.nanoTime() - t0, stepsThisRun));
            if (step % options.loggingSteps() == 0) {
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("epoch", epoch(step));
                entry.put("learning_rate", learningRate(step));   // the Trainer logs the rate after its scheduler step
                entry.put("loss", lossSinceLog / stepsSinceLog);
                entry.put("step", step);
                history.add(entry);
                store.log(entry, history);
                listener.logged(entry);
                lossSinceLog = 0;
                stepsSinceLog = 0;
            }
            boolean stop = stopRequested;
            if (step % options.saveSteps() == 0 || (stop && step != lastSaved)) {
                listener.saved(store.save(step, prefix, adam, history));
                lastSaved = step;
            }
            if (stop) return new TrainingResult(step, true, history, prefix);
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("epoch", epoch(step));
        summary.put("step", step);
        summary.put("train_runtime", Math.round((System.nanoTime() - t0) / 1e5) / 1e4);
        if (stepsThisRun > 0) summary.put("train_loss", lossSum / stepsThisRun);
        if (!validation.isEmpty()) summary.put("eval_loss", validationLoss());
        history.add(summary);
        store.log(summary, history);
        listener.logged(summary);
        return new TrainingResult(step, false, history, prefix);
    }

    /** {@code lr·(max_steps − t)/max_steps}: the linear schedule without warm-up after t steps. */
    double learningRate(int step) {
        return options.learningRate() * Math.max(0.0, (double) (options.maxSteps() - step) / Math.max(1, options.maxSteps()));
    }

    /** The Trainer's epoch: micro-batches consumed over micro-batches per epoch, rounded to 2 decimals. */
    private double epoch(int step) {
        long perEpoch = (examples.size() + options.batchSize() - 1) / options.batchSize();
        return Math.round(100.0 * step * options.gradientAccumulationSteps() / perEpoch) / 100.0;
    }

    /**
     * Micro-batch {@code j}: without shuffling examples {@code (j·bs + i) mod N}; with shuffling the j-th batch of
     * a stream of epochs, each a permutation drawn from the seed and the epoch number (so a resumed run sees the
     * same order), the last batch of an epoch possibly smaller.
     */
    List<TrainingExample> microBatch(long j) {
        int n = examples.size(), bs = options.batchSize();
        List<TrainingExample> mb = new ArrayList<>(bs);
        if (!options.shuffle()) {
            for (int i = 0; i < bs; i++) mb.add(examples.get((int) ((j * bs + i) % n)));
            return mb;
        }
        long perEpoch = (n + bs - 1) / bs;
        long epoch = j / perEpoch;
        int[] perm = permutation(n, options.seed() * 1_000_003L + epoch);
        int from = (int) (j % perEpoch) * bs;
        for (int i = from; i < Math.min(n, from + bs); i++) mb.add(examples.get(perm[i]));
        return mb;
    }

    private static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int k = rnd.nextInt(i + 1), t = p[i];
            p[i] = p[k];
            p[k] = t;
        }
        return p;
    }

    /**
     * One micro-batch: adds {@code scale ×} the gradient of its mean loss to the prefix's gradients (when
     * {@code backwardPass}) and returns the mean loss. Padding after {@code <eop>} is not run: it sits in the
     * causal part after every label, so it changes neither the loss nor the gradient.
     *
     * @param dropoutStream numbers this micro-batch's prefix-dropout draws (reproducible on resume)
     */
    public double lossAndGradient(List<TrainingExample> batchExamples, double scale, long dropoutStream, boolean backwardPass) {
        int segs = batchExamples.size(), pre = prefix.preSeqLen(), vocab = cfg.vocabSize();
        float[] past = prefix.past();
        float[][] segPast = new float[segs][];
        float[][] keep = new float[segs][];
        double p = options.prefixDropout();
        for (int s = 0; s < segs; s++) {
            if (p > 0 && backwardPass) {
                SplittableRandom rnd = new SplittableRandom(options.seed() ^ (dropoutStream * 0x9E3779B97F4A7C15L + s));
                float inv = (float) (1 / (1 - p));
                keep[s] = new float[past.length];
                segPast[s] = new float[past.length];
                for (int i = 0; i < past.length; i++) {
                    keep[s][i] = rnd.nextDouble() < p ? 0f : inv;
                    segPast[s][i] = past[i] * keep[s][i];
                }
            } else {
                segPast[s] = past;
            }
        }
        Batch batch = new Batch();
        KvCache[] caches = new KvCache[segs];
        int[] rowTarget = new int[0];
        List<Integer> targetRows = new ArrayList<>();
        List<Integer> targetLabels = new ArrayList<>();
        try {
            int rowBase = 0;
            for (int s = 0; s < segs; s++) {
                TrainingExample e = batchExamples.get(s);
                int n = e.tokens(cfg.padTokenId());
                int[] ids = Arrays.copyOf(e.inputIds(), n);
                PromptLayout layout = PromptLayout.of(ids, cfg);
                boolean twoD = cfg.positionEncoding2d();
                caches[s] = model.newCache(segPast[s], pre);
                batch.add(caches[s], ids, layout.positions(n, twoD), twoD ? layout.blockPositions(n) : null, layout.mask(), true);
                for (int i = 0; i + 1 < e.labels().length; i++) {   // logits of position i predict label i + 1
                    int label = e.labels()[i + 1];
                    if (label == TrainingExample.IGNORE) continue;
                    if (i >= n) throw new IllegalStateException("a label sits in the padding");
                    if (label < 0 || label >= vocab) throw new ChatGlmException("label " + label + " is outside the vocabulary");
                    targetRows.add(rowBase + i);
                    targetLabels.add(label);
                }
                rowBase += n;
            }
            rowTarget = new int[rowBase];
            Arrays.fill(rowTarget, -1);
            int m = targetRows.size();
            if (m == 0) return Double.NaN;   // the reference's mean over nothing
            for (int j = 0; j < m; j++) rowTarget[targetRows.get(j)] = j;
            int[] starts = new int[segs];
            for (int s = 1; s < segs; s++) starts[s] = starts[s - 1] + batchExamples.get(s - 1).tokens(cfg.padTokenId());
            float[] dLogits = backwardPass ? new float[m * vocab] : null;
            double[] loss = {0};
            int[] target = rowTarget;
            float factor = (float) (scale / m);
            runner.forward(batch, (seg, index, logits, off) -> {
                int j = target[starts[seg] + index];
                if (j < 0) return;
                int label = targetLabels.get(j);
                float max = Float.NEGATIVE_INFINITY;
                for (int v = 0; v < vocab; v++) max = Math.max(max, logits[off + v]);
                double sum = 0;
                for (int v = 0; v < vocab; v++) sum += Math.exp(logits[off + v] - max);
                double lse = max + Math.log(sum);
                loss[0] += lse - logits[off + label];
                if (dLogits != null) {
                    for (int v = 0; v < vocab; v++) dLogits[j * vocab + v] = (float) Math.exp(logits[off + v] - lse) * factor;
                    dLogits[j * vocab + label] -= factor;
                }
            }, backwardPass ? activations : null);
            if (backwardPass) {
                int[] rows = targetRows.stream().mapToInt(Integer::intValue).toArray();
                float[][] dPast = new float[segs][past.length];
                backward.run(batch, activations, segPast, rows, dLogits, dPast);
                float[] total = new float[past.length];
                for (int s = 0; s < segs; s++) {
                    for (int i = 0; i < total.length; i++) total[i] += keep[s] == null ? dPast[s][i] : dPast[s][i] * keep[s][i];
                }
                prefix.backward(total);
            }
            return loss[0] / m;
        } finally {
            for (KvCache c : caches) if (c != null) c.close();
        }
    }

    /** Mean loss over the validation examples (no dropout, no gradient). */
    private double validationLoss() {
        double sum = 0;
        int batches = 0;
        for (int i = 0; i < validation.size(); i += options.batchSize()) {
            double l = lossAndGradient(validation.subList(i, Math.min(validation.size(), i + options.batchSize())), 1, 0, false);
            if (Double.isNaN(l)) continue;
            sum += l;
            batches++;
        }
        return batches == 0 ? Double.NaN : sum / batches;
    }

    /** {@code ‖(‖g_p‖₂)_p‖₂}, each norm in float32 as torch computes it. */
    static double gradientNorm(List<float[]> grads) {
        double total = 0;
        for (float[] g : grads) {
            double s = 0;
            for (float v : g) s += (double) v * v;
            float norm = (float) Math.sqrt(s);
            total += (double) norm * norm;
        }
        return (float) Math.sqrt(total);
    }

    /** torch 1.13's clip_grad_norm_: {@code g *= min(1, max/(total + 1e-6))}, applied even when the factor is 1. */
    static void clip(List<float[]> grads, double total, double maxNorm) {
        float coef = (float) Math.min(1.0, (float) maxNorm / (float) (total + 1e-6));
        for (float[] g : grads) for (int i = 0; i < g.length; i++) g[i] *= coef;
    }
}
