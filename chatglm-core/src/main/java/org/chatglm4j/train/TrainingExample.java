package org.chatglm4j.train;

/**
 * One preprocessed example: {@code input_ids} and {@code labels} of {@code max_source_length +
 * max_target_length} ids each (−100 = no loss at that position), as {@code preprocess_function_train} makes them.
 *
 * @param line the line of the data file it came from (1-based), for messages
 */
public record TrainingExample(int[] inputIds, int[] labels, int line) {
    public static final int IGNORE = -100;

    /** Positions that are not padding: the tokens a forward pass really works on. */
    public int tokens(int padId) {
        int n = inputIds.length;
        while (n > 0 && inputIds[n - 1] == padId) n--;
        return n;
    }
}
