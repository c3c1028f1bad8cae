package org.chatglm4j.generate;

/** Why generation stopped. */
public enum FinishReason {
    /** The model produced {@code <eop>}. */
    EOS,
    /** {@code max_length} (prompt + new tokens) or {@code max_new_tokens} was reached. */
    LENGTH,
    /** A stop string appeared in the text. */
    STOP,
    /** The caller cancelled. */
    CANCELLED
}
