package org.chatglm4j.eval;

/** One line of generated_predictions.txt: the decoded label and the decoded generation. */
public record Prediction(String labels, String predict) {
    public Prediction {
        if (labels == null || predict == null) throw new IllegalArgumentException("labels and predict are required");
    }
}
