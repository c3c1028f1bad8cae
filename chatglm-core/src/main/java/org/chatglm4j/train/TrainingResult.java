package org.chatglm4j.train;

import java.util.List;
import java.util.Map;

/**
 * How a P-Tuning v2 run ended: the steps done, whether it was stopped, the log and the trained prefix.
 *
 * @param step       optimizer steps done (counting those of a resumed run)
 * @param stopped    whether {@link PTuningTrainer#requestStop()} ended the run early (a checkpoint was written)
 * @param logHistory the Trainer's {@code log_history}
 */
public record TrainingResult(int step, boolean stopped, List<Map<String, Object>> logHistory, TrainablePrefix prefix) {
}
