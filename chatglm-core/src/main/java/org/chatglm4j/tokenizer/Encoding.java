package org.chatglm4j.tokenizer;

import java.util.List;

/** A SentencePiece encoding: the ids and, in the same order, their pieces (byte pieces as {@code <0xXX>}). */
public record Encoding(int[] ids, List<String> pieces) {
    /** Checks that ids and pieces match one to one. */
    public Encoding {
        if (ids.length != pieces.size()) throw new IllegalArgumentException("ids and pieces differ in length");
        pieces = List.copyOf(pieces);
    }
}
