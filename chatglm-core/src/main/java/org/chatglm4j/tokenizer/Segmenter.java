package org.chatglm4j.tokenizer;

/** Splits normalized UTF-8 text into vocabulary pieces (SentencePiece's {@code ModelInterface::Encode}). */
interface Segmenter {
    /** Segments all of {@code normalized}; pieces cover it without gaps, in order. */
    Segmentation segment(byte[] normalized);
}
