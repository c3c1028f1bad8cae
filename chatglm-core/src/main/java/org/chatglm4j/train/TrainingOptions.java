package org.chatglm4j.train;

import org.chatglm4j.ChatGlmException;

import java.nio.file.Path;

/**
 * What {@code ptuning/main.py} / {@code train.sh} take, with the reference's defaults where it has them.
 *
 * @param trainFile                 JSON-lines training data
 * @param validationFile            JSON-lines validation data (null for none): its loss is reported at the end
 * @param historyColumn             null for none
 * @param sourcePrefix              text put before every prompt ("" for none)
 * @param prefixHiddenSize          hidden size of the projection (0: the model's; ChatGLM-6B supports only that)
 * @param maxGradNorm               clip the global gradient norm to this (0 or less: no clipping)
 * @param shuffle                   a seeded shuffle per epoch; false: micro-batch j = examples (j·bs + i) mod N
 * @param prefixDropout             dropout on the prefix keys/values (the reference's 0.1), per sequence
 * @param init                      a P-tuning checkpoint to start from (null: a fresh encoder from the seed)
 * @param resume                    continue from the last checkpoint-N of the output folder
 */
public record TrainingOptions(Path trainFile, Path validationFile, String promptColumn, String responseColumn,
                              String historyColumn, String sourcePrefix, int maxSourceLength, int maxTargetLength,
                              int preSeqLen, boolean prefixProjection, int prefixHiddenSize, double learningRate,
                              int maxSteps, int batchSize, int gradientAccumulationSteps, double maxGradNorm,
                              long seed, boolean shuffle, double prefixDropout, int loggingSteps, int saveSteps,
                              Path outputDir, Path init, boolean resume) {

    /**
     * Checks every bound before any work is done (throws {@link ChatGlmException} with the option at fault); a null
     * {@code sourcePrefix} becomes "".
     */
    public TrainingOptions {
        need(trainFile != null, "a training file is required");
        need(outputDir != null, "an output folder is required");
        need(promptColumn != null && responseColumn != null, "the prompt and response columns are required");
        need(maxSourceLength >= 1, "max source length must be at least 1, got " + maxSourceLength);
        need(maxTargetLength >= 2, "max target length must be at least 2, got " + maxTargetLength);
        need(preSeqLen >= 1, "pre_seq_len must be at least 1, got " + preSeqLen);
        need(learningRate > 0 && Double.isFinite(learningRate), "the learning rate must be positive, got " + learningRate);
        need(maxSteps >= 1, "max steps must be at least 1, got " + maxSteps);
        need(batchSize >= 1, "the batch size must be at least 1, got " + batchSize);
        need(gradientAccumulationSteps >= 1, "gradient accumulation steps must be at least 1, got " + gradientAccumulationSteps);
        need(Double.isFinite(maxGradNorm), "max grad norm must be finite");
        need(prefixDropout >= 0 && prefixDropout < 1, "prefix dropout must be in [0, 1), got " + prefixDropout);
        need(loggingSteps >= 1, "logging steps must be at least 1, got " + loggingSteps);
        need(saveSteps >= 1, "save steps must be at least 1, got " + saveSteps);
        need(prefixHiddenSize >= 0, "prefix hidden size must not be negative");
        if (sourcePrefix == null) sourcePrefix = "";
    }

    private static void need(boolean ok, String what) {
        if (!ok) throw new ChatGlmException(what);
    }

    /** The reference's defaults (train.sh where main.py has none) for a data file and an output folder. */
    public static Builder builder(Path trainFile, String promptColumn, String responseColumn, Path outputDir) {
        return new Builder(trainFile, promptColumn, responseColumn, outputDir);
    }

    /** Options with defaults: max source/target 64, pre_seq_len 128, lr 2e-2, 3000 steps, batch 1 × 16, … */
    public static final class Builder {
        private final Path trainFile, outputDir;
        private final String promptColumn, responseColumn;
        /** {@code validationFile}, {@code init}: see {@link TrainingOptions}; null for none. */
        public Path validationFile, init;
        /** {@code historyColumn} (null for none), {@code sourcePrefix} (text put before every prompt). */
        public String historyColumn, sourcePrefix = "";
        /** Token lengths of source and target, the prefix length, the projection's hidden size (0: the model's). */
        public int maxSourceLength = 64, maxTargetLength = 64, preSeqLen = 128, prefixHiddenSize;
        /** The prefix projection MLP, a seeded shuffle per epoch, resuming from the output folder. */
        public boolean prefixProjection, shuffle = true, resume;
        /** Peak learning rate, gradient-norm clip (0 or less: none), dropout on the prefix keys/values. */
        public double learningRate = 2e-2, maxGradNorm = 1.0, prefixDropout = 0.1;
        /** Optimizer steps, sequences per micro-batch, micro-batches per step, steps between logs and between saves. */
        public int maxSteps = 3000, batchSize = 1, gradientAccumulationSteps = 16, loggingSteps = 10, saveSteps = 1000;
        /** Seed of the initial encoder, the shuffles and the dropout. */
        public long seed = 42;

        private Builder(Path trainFile, String promptColumn, String responseColumn, Path outputDir) {
            this.trainFile = trainFile;
            this.promptColumn = promptColumn;
            this.responseColumn = responseColumn;
            this.outputDir = outputDir;
        }

        /** The options; throws {@link ChatGlmException} if a value is out of bounds. */
        public TrainingOptions build() {
            return new TrainingOptions(trainFile, validationFile, promptColumn, responseColumn, historyColumn,
                    sourcePrefix, maxSourceLength, maxTargetLength, preSeqLen, prefixProjection, prefixHiddenSize,
                    learningRate, maxSteps, batchSize, gradientAccumulationSteps, maxGradNorm, seed, shuffle,
                    prefixDropout, loggingSteps, saveSteps, outputDir, init, resume);
        }
    }
}
