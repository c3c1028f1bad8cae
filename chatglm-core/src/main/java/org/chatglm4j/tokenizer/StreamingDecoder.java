package org.chatglm4j.tokenizer;

/**
 * Incremental {@link ChatGlmTokenizer#decodeForChat} (or {@link Glm2Tokenizer#decode}): {@link #push} takes one
 * generated id and returns the text that has become final; after {@link #flush} the deltas concatenated equal the
 * tokenizer's decode of all ids.
 *
 * <p>It never returns half a character: byte pieces wait until they form a character (or are proven invalid,
 * then U+FFFD), a {@code <} waits until it is known not to start {@code <n>}/{@code <|blank_k|>}, and a space
 * waits until the clean-up rules (" ." → ".", " 's" → "'s", …) are decided. Each id costs work proportional to
 * its own text — nothing is decoded twice. Not thread-safe; {@link #flush} ends the sequence and the decoder can
 * then start a new one.
 */
public final class StreamingDecoder {
    /** Feeds one id to the SentencePiece-level decoder, as the tokenizer's own decode does. */
    @FunctionalInterface
    interface IdFeeder {
        void push(PieceDecoder decoder, int id, StringBuilder out);
    }

    private final PieceDecoder pieces;
    private final IdFeeder feeder;
    private final java.util.function.IntPredicate skipped;
    private final TextStage[] stages;

    StreamingDecoder(ChatGlmTokenizer tokenizer) {
        this(tokenizer.newPieceDecoder(), tokenizer::pushForChat, id -> id == tokenizer.padId(),
                chatGlmStages(tokenizer));
    }

    /**
     * @param skipped ids that decode to nothing and are dropped before the piece decoder (ChatGLM-6B's pad)
     * @param stages  text rewrites after SentencePiece decoding, in order
     */
    StreamingDecoder(PieceDecoder pieces, IdFeeder feeder, java.util.function.IntPredicate skipped,
                     TextStage[] stages) {
        this.pieces = pieces;
        this.feeder = feeder;
        this.skipped = skipped;
        this.stages = stages;
    }

    private static TextStage[] chatGlmStages(ChatGlmTokenizer tokenizer) {
        TextStage[] cleanup = CleanUpTokenization.stages();
        TextStage[] stages = new TextStage[cleanup.length + 1];
        stages[0] = new MarkupExpander(tokenizer.config().maxBlankLength());
        System.arraycopy(cleanup, 0, stages, 1, cleanup.length);
        return stages;
    }

    /** Decodes the next id; returns the newly final text (often "", e.g. for a pending byte or a control id). */
    public String push(int id) {
        if (skipped.test(id)) return "";
        StringBuilder text = new StringBuilder();
        feeder.push(pieces, id, text);
        return run(text, false);
    }

    /** Ends the sequence and returns the rest of the text; the decoder is then ready for a new sequence. */
    public String flush() {
        StringBuilder text = new StringBuilder();
        pieces.finish(text);
        pieces.reset();
        return run(text, true);
    }

    private String run(StringBuilder text, boolean end) {
        StringBuilder in = text;
        for (TextStage stage : stages) {
            if (in.isEmpty() && !end) return "";
            StringBuilder out = new StringBuilder(in.length() + 8);
            stage.accept(in, out);
            if (end) stage.finish(out);
            in = out;
        }
        return in.toString();
    }
}
