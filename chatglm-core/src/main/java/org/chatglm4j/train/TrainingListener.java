package org.chatglm4j.train;

import java.nio.file.Path;
import java.util.Map;

/** Progress of a {@link PTuningTrainer} run; every method has a no-op default. Called on the training thread. */
public interface TrainingListener {

    /** Before the first step: what will run and the memory it needs. */
    default void started(TrainingPlan plan) {
    }

    /**
     * After each micro-batch's forward and backward: on a CPU one step of gradient accumulation can take many
     * minutes, so progress shows within a step too.
     *
     * @param step         the optimizer step under way, counted from 0
     * @param microBatch   micro-batches of this step done (1 … {@code microBatches})
     * @param tokens       tokens of this micro-batch
     * @param elapsedNanos since the run started (this process)
     */
    default void microBatchDone(int step, int microBatch, int microBatches, long tokens, long elapsedNanos) {
    }

    /** After each optimizer step. */
    default void stepped(StepReport report) {
    }

    /** An entry of {@code log_history} was written. */
    default void logged(Map<String, Object> entry) {
    }

    /** A checkpoint folder is complete. */
    default void saved(Path checkpoint) {
    }

    /**
     * What a run is about to do, reported once before its first step.
     *
     * @param firstStep      the step the run starts at (0, or the resumed checkpoint's)
     * @param examples       training examples after preprocessing
     * @param parameters     trainable parameters
     * @param estimatedBytes memory the training needs beyond the weights (activations, gradients, optimizer)
     */
    record TrainingPlan(int firstStep, int maxSteps, int examples, long parameters, long estimatedBytes) {
    }

    /**
     * What one optimizer step did.
     *
     * @param tokens         tokens (prompt and response, without padding) the step processed
     * @param gradNorm       global gradient norm before clipping
     * @param learningRate   the rate this step used
     * @param elapsedNanos   since the run started (this process)
     */
    record StepReport(int step, int maxSteps, double loss, double learningRate, double gradNorm, long tokens,
                      long elapsedNanos, int stepsThisRun) {
    }
}
