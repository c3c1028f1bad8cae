package org.chatglm4j.model;

import org.chatglm4j.tensor.WeightMatrix;

/** {@code y = x·Wᵀ + b}: a weight matrix {@code [out, in]} and its bias {@code [out]}, or no bias. */
public record Linear(WeightMatrix weight, float[] bias) {
    /** Checks that the bias, when present, has one value per output. */
    public Linear {
        if (bias != null && bias.length != weight.rows()) {
            throw new IllegalArgumentException("bias of " + bias.length + " for " + weight.rows() + " outputs");
        }
    }

    /** Input features ({@code W}'s columns). */
    public int in() {
        return weight.cols();
    }

    /** Output features ({@code W}'s rows). */
    public int out() {
        return weight.rows();
    }
}
