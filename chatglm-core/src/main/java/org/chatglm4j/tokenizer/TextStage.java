package org.chatglm4j.tokenizer;

/**
 * One step of a streaming text rewrite: it takes text in arbitrary chunks and writes out only the part of its
 * output that later chunks can no longer change, holding back a short tail that might still start a match.
 */
interface TextStage {
    /** Takes the next chunk; appends to {@code out} what has become final. */
    void accept(CharSequence chunk, StringBuilder out);

    /** The text has ended: appends everything still held back and returns to the initial state. */
    void finish(StringBuilder out);
}
