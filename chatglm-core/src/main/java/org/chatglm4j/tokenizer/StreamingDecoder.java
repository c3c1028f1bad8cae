package org.chatglm4j.tokenizer;

/**
 * Incremental {@link ChatGlmTokenizer#decodeForChat}: {@link #push} takes one generated id and returns the text
 * that has become final; after {@link #flush} the deltas concatenated equal {@code decodeForChat} of all ids.
 *
 * <p>It never returns half a character: byte pieces wait until they form a character (or are proven invalid,
 * then U+FFFD), a {@code <} waits until it is known not to start {@code <n>}/{@code <|blank_k|>}, and a space
 * waits until the clean-up rules (" ." → ".", " 's" → "'s", …) are decided. Each id costs work proportional to
 * its own text — nothing is decoded twice. Not thread-safe; {@link #flush} ends the sequence and the decoder can
 * then start a new one.
 */
public final class StreamingDecoder {
    private final ChatGlmTokenizer tokenizer;
    private final PieceDecoder pieces;
    private final TextStage[] stages;

    StreamingDecoder(ChatGlmTokenizer tokenizer) {
        this.tokenizer = tokenizer;
        this.pieces = tokenizer.newPieceDecoder();
        TextStage[] cleanup = CleanUpTokenization.stages();
        stages = new TextStage[cleanup.length + 1];
        stages[0] = new MarkupExpander(tokenizer.config().maxBlankLength());
        System.arraycopy(cleanup, 0, stages, 1, cleanup.length);
    }

    /** Decodes the next id; returns the newly final text (often "", e.g. for a pending byte or a control id). */
    public String push(int id) {
        if (id == tokenizer.padId()) return "";
        StringBuilder text = new StringBuilder();
        tokenizer.pushForChat(pieces, id, text);
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
