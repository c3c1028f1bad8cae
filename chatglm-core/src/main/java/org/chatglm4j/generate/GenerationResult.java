package org.chatglm4j.generate;

/**
 * What one generation produced.
 *
 * @param generatedIds new tokens, a final {@code <eop>} included when the model produced it
 * @param prefillNanos time of the prompt's forward pass (time to first token)
 * @param decodeNanos  time of every later step
 */
public record GenerationResult(int[] inputIds, int[] generatedIds, FinishReason finishReason,
                               long prefillNanos, long decodeNanos) {

    /** Mean time of one decoding step after the first token, in milliseconds (NaN with a single token). */
    public double decodeMillisPerToken() {
        return generatedIds.length > 1 ? decodeNanos / 1e6 / (generatedIds.length - 1) : Double.NaN;
    }
}
