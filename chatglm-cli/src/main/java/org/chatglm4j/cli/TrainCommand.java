package org.chatglm4j.cli;

import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.train.PTuningTrainer;
import org.chatglm4j.train.TrainingListener;
import org.chatglm4j.train.TrainingOptions;
import org.chatglm4j.train.TrainingResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code chatglm train}: P-Tuning v2 as {@code ptuning/main.py --do_train} runs it (options in kebab case), over a
 * frozen base model, optionally quantized. Writes the Trainer's output folder (checkpoint-N/, trainer_state.json).
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Train a P-Tuning v2 prefix (ptuning/main.py --do_train).",
        description = {"Trains only the prefix encoder (pre_seq_len × 2·layers·hidden values) on JSON-lines data "
                + "while the model stays frozen; every --save-steps writes OUTPUT_DIR/checkpoint-N/ "
                + "(pytorch_model.bin in torch.save format, config.json, optimizer.pt, trainer_state.json), which "
                + "chat, generate, logits and serve take as --ptuning. Progress goes to stderr; Ctrl-C saves a "
                + "checkpoint and stops; --resume continues the last checkpoint."})
public final class TrainCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Mixin
    LoadTuning tuning;

    @Option(names = "--ptuning", paramLabel = "DIR", description = "Start from this P-tuning checkpoint (its "
            + "pre_seq_len and prefix_projection must agree with the options). Default: a fresh prefix from --seed.")
    Path init;

    @Option(names = "--train-file", required = true, paramLabel = "FILE", description = "JSON-lines training data.")
    Path trainFile;

    @Option(names = "--validation-file", paramLabel = "FILE", description = "JSON-lines validation data: its "
            + "loss is reported at the end (generation and ROUGE/BLEU: 'chatglm eval').")
    Path validationFile;

    @Option(names = "--prompt-column", required = true, paramLabel = "NAME", description = "Prompt column, e.g. content.")
    String promptColumn;

    @Option(names = "--response-column", required = true, paramLabel = "NAME", description = "Response column, e.g. summary.")
    String responseColumn;

    @Option(names = "--history-column", paramLabel = "NAME",
            description = "Column of [query, response] pairs: prompts use the [Round i] template.")
    String historyColumn;

    @Option(names = "--source-prefix", paramLabel = "TEXT", defaultValue = "", description = "Put before every prompt.")
    String sourcePrefix;

    @Option(names = "--max-source-length", paramLabel = "N", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int maxSourceLength;

    @Option(names = "--max-target-length", paramLabel = "N", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int maxTargetLength;

    @Option(names = "--pre-seq-len", paramLabel = "N", defaultValue = "128", description = "Prefix length. Default: ${DEFAULT-VALUE}.")
    int preSeqLen;

    @Option(names = "--prefix-projection", description = "Project the prefix through a two-layer MLP (P-Tuning v2 'projection').")
    boolean prefixProjection;

    @Option(names = "--prefix-hidden-size", paramLabel = "N", defaultValue = "0",
            description = "Hidden size of the projection: ChatGLM-6B's encoder only has hidden_size (0 = that).")
    int prefixHiddenSize;

    @Option(names = "--learning-rate", paramLabel = "LR", defaultValue = "2e-2", description = "Default: ${DEFAULT-VALUE}.")
    double learningRate;

    @Option(names = "--max-steps", paramLabel = "N", defaultValue = "3000", description = "Optimizer steps. Default: ${DEFAULT-VALUE}.")
    int maxSteps;

    @Option(names = "--per-device-train-batch-size", paramLabel = "N", defaultValue = "1", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--gradient-accumulation-steps", paramLabel = "N", defaultValue = "16", description = "Default: ${DEFAULT-VALUE}.")
    int gradientAccumulationSteps;

    @Option(names = "--max-grad-norm", paramLabel = "X", defaultValue = "1.0",
            description = "Clip the global gradient norm (0: no clipping). Default: ${DEFAULT-VALUE}.")
    double maxGradNorm;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42", description = "Shuffling, dropout, a fresh prefix. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--no-shuffle", description = "Sequential batches: micro-batch j = examples (j·bs + i) mod N.")
    boolean noShuffle;

    @Option(names = "--prefix-dropout", paramLabel = "P", defaultValue = "0.1",
            description = "Dropout on the prefix keys/values while training. Default: ${DEFAULT-VALUE} (the reference's).")
    double prefixDropout;

    @Option(names = "--logging-steps", paramLabel = "N", defaultValue = "10", description = "Default: ${DEFAULT-VALUE}.")
    int loggingSteps;

    @Option(names = "--save-steps", paramLabel = "N", defaultValue = "1000", description = "Default: ${DEFAULT-VALUE}.")
    int saveSteps;

    @Option(names = "--output-dir", required = true, paramLabel = "DIR", description = "Where checkpoints and logs go.")
    Path outputDir;

    @Option(names = "--resume", description = "Continue from the last checkpoint-N in --output-dir.")
    boolean resume;

    private final CliContext ctx;

    public TrainCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        TrainingOptions.Builder b = TrainingOptions.builder(trainFile, promptColumn, responseColumn, outputDir);
        b.validationFile = validationFile;
        b.historyColumn = historyColumn;
        b.sourcePrefix = sourcePrefix;
        b.maxSourceLength = maxSourceLength;
        b.maxTargetLength = maxTargetLength;
        b.preSeqLen = preSeqLen;
        b.prefixProjection = prefixProjection;
        b.prefixHiddenSize = prefixHiddenSize;
        b.learningRate = learningRate;
        b.maxSteps = maxSteps;
        b.batchSize = batchSize;
        b.gradientAccumulationSteps = gradientAccumulationSteps;
        b.maxGradNorm = maxGradNorm;
        b.seed = seed;
        b.shuffle = !noShuffle;
        b.prefixDropout = prefixDropout;
        b.loggingSteps = loggingSteps;
        b.saveSteps = saveSteps;
        b.init = init;
        b.resume = resume;
        TrainingOptions options = b.build();   // checks the values before the model is loaded
        try (ChatGLM glm = ChatGLM.load(model.resolve(ctx), tuning.apply(model.loadOptions(null), KvCache.Precision.F32))) {
            PTuningTrainer trainer = new PTuningTrainer(glm.model(), glm.tokenizer(), options);
            CountDownLatch done = new CountDownLatch(1);
            // Ctrl-C: finish the step, save a checkpoint, then let the JVM exit
            Thread hook = new Thread(() -> {
                trainer.requestStop();
                try {
                    done.await(10, TimeUnit.MINUTES);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "chatglm-train-interrupt");
            Runtime.getRuntime().addShutdownHook(hook);
            TrainingResult result;
            ProgressBar bar = new ProgressBar();
            try {
                try {
                    result = trainer.train(bar);
                } finally {
                    bar.finish();
                }
                ctx.out().println(String.format(Locale.ROOT, "%s after %d steps; checkpoints and trainer_state.json in %s",
                        result.stopped() ? "stopped" : "trained", result.step(), outputDir));
                ctx.out().flush();
            } finally {
                // only now may an interrupted JVM exit (the hook waits for this): the summary line is out
                done.countDown();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running: it waits for `done`
                }
            }
            return result.stopped() ? InterruptRouter.INTERRUPTED_STATUS : 0;
        }
    }

    /** Tokens per second to three significant digits (whole above 100): CPU training runs at a fraction of one. */
    static String rate(double tokensPerSecond) {
        if (!(tokensPerSecond > 0) || Double.isInfinite(tokensPerSecond)) return "0";
        return tokensPerSecond >= 100 ? String.format(Locale.ROOT, "%.0f", tokensPerSecond)
                : new java.math.BigDecimal(tokensPerSecond).round(new java.math.MathContext(3)).stripTrailingZeros().toPlainString();
    }

    /** Step, loss, learning rate, tokens/s and ETA on stderr: redrawn on a terminal, one line per log otherwise. */
    private final class ProgressBar implements TrainingListener {
        private long lastDraw;
        private String line = "";

        @Override
        public void started(TrainingPlan plan) {
            maxSteps = plan.maxSteps();
            lastMicroLine = System.nanoTime();
            ctx.err().println(String.format(Locale.ROOT, "chatglm: training %d examples, %,d prefix parameters, "
                            + "steps %d→%d, about %s of memory for activations and optimizer",
                    plan.examples(), plan.parameters(), plan.firstStep(), plan.maxSteps(), Sizes.bytes(plan.estimatedBytes())));
            ctx.err().flush();
        }

        @Override
        public void microBatchDone(int step, int microBatch, int microBatches, long microTokens, long elapsedNanos) {
            if (microBatches == 1 || microBatch == microBatches) return;   // the step's own line follows
            microTokensThisStep += microTokens;
            double seconds = elapsedNanos / 1e9;
            String text = String.format(Locale.ROOT, "step %d/%d: micro-batch %d/%d, %s tok/s", step + 1, maxSteps,
                    microBatch, microBatches, rate((tokens + microTokensThisStep) / Math.max(seconds, 1e-9)));
            long now = System.nanoTime();
            if (ctx.stderrTerminal()) {
                if (now - lastDraw > 100_000_000L) {
                    lastDraw = now;
                    ctx.err().print("\r\033[K" + (line.isEmpty() ? text : line + " | " + text));
                    ctx.err().flush();
                }
            } else if (now - lastMicroLine > 30_000_000_000L) {   // a line at most every 30 s in a log
                lastMicroLine = now;
                ctx.err().println("chatglm: " + text);
                ctx.err().flush();
            }
        }

        private long lastMicroLine;
        private long microTokensThisStep;
        private int maxSteps;

        @Override
        public void stepped(StepReport r) {
            microTokensThisStep = 0;
            tokens += r.tokens();
            double seconds = r.elapsedNanos() / 1e9;
            double perStep = seconds / r.stepsThisRun();
            long eta = Math.round(perStep * (r.maxSteps() - r.step()));
            int width = 20, filled = (int) ((long) width * r.step() / r.maxSteps());
            line = String.format(Locale.ROOT, "step %d/%d [%s%s] loss %.4f lr %.2e %s tok/s ETA %d:%02d:%02d",
                    r.step(), r.maxSteps(), "#".repeat(filled), ".".repeat(width - filled), r.loss(), r.learningRate(),
                    rate(tokens / Math.max(seconds, 1e-9)), eta / 3600, eta / 60 % 60, eta % 60);
            long now = System.nanoTime();
            if (ctx.stderrTerminal()) {
                if (now - lastDraw > 100_000_000L || r.step() == r.maxSteps()) {
                    lastDraw = now;
                    ctx.err().print("\r\033[K" + line);
                    ctx.err().flush();
                }
            }
        }

        private long tokens;

        @Override
        public void logged(Map<String, Object> entry) {
            if (!ctx.stderrTerminal() && entry.containsKey("loss")) {
                ctx.err().println("chatglm: " + line);
                ctx.err().flush();
            }
        }

        @Override
        public void saved(Path checkpoint) {
            if (ctx.stderrTerminal()) ctx.err().print("\r\033[K");
            ctx.err().println("chatglm: saved " + checkpoint);
            if (ctx.stderrTerminal()) ctx.err().print(line);
            ctx.err().flush();
        }

        void finish() {
            if (ctx.stderrTerminal()) {
                ctx.err().println();
                ctx.err().flush();
            }
        }
    }
}
