package org.chatglm4j.tokenizer;

/**
 * SentencePiece 0.1.97's {@code Decode} as an incremental state machine, so that whole-sequence decoding and
 * streaming share one implementation: control pieces produce "", {@code <unk>} its surface (" ⁇ "), runs of byte
 * pieces are decoded as UTF-8 with one U+FFFD per invalid byte, "▁" becomes a space, and while no text has been
 * produced a leading "▁" is dropped from each piece (with {@code remove_extra_whitespaces}; with only
 * {@code add_dummy_prefix} just from the first piece that has one).
 *
 * <p>Pending byte pieces are held until they form a character or are proven invalid, so {@link #push} only ever
 * writes text that can no longer change; {@link #finish} settles what is left (as the end of the sequence does).
 */
final class PieceDecoder {
    private static final char SPACE_SYMBOL = '\u2581';

    private final Vocabulary vocab;
    private final boolean stripBosSpace;
    private final boolean keepStripping;
    private byte[] pending = new byte[8];
    private int pendingLength;
    private boolean producedText;
    private boolean bosSpaceSeen;
    private boolean atBos = true;

    PieceDecoder(Vocabulary vocab) {
        this.vocab = vocab;
        NormalizerSpec spec = vocab.model.normalizerSpec();
        this.stripBosSpace = spec.addDummyPrefix() || spec.removeExtraWhitespaces();
        this.keepStripping = spec.removeExtraWhitespaces();
    }

    /**
     * Decodes one piece. {@code id} must be {@code PieceToId(piece)}: for a vocabulary piece its canonical id; for
     * any other string the unknown id (it then decodes to itself).
     */
    void push(int id, String piece, StringBuilder out) {
        PieceType type = vocab.type(id);
        if (type == PieceType.BYTE) {
            if (pendingLength == pending.length) pending = java.util.Arrays.copyOf(pending, pendingLength * 2);
            pending[pendingLength++] = (byte) SentencePieceModel.byteOfPiece(piece);
            producedText = true; // a byte run always decodes to at least one character
            drainBytes(false, out);
            return;
        }
        drainBytes(true, out);
        if (bosSpaceSeen || producedText) atBos = false;
        bosSpaceSeen = false;
        String text;
        switch (type) {
            case CONTROL -> text = "";
            case UNKNOWN -> text = vocab.model.piece(id).equals(piece) ? vocab.model.unkSurface() : piece;
            default -> {
                String p = piece;
                if (atBos && stripBosSpace && !p.isEmpty() && p.charAt(0) == SPACE_SYMBOL) {
                    p = p.substring(1);
                    // Without remove_extra_whitespaces only the first "▁" is dropped.
                    bosSpaceSeen = !keepStripping;
                }
                text = p.replace(SPACE_SYMBOL, ' ');
            }
        }
        if (!text.isEmpty()) {
            producedText = true;
            out.append(text);
        }
    }

    /** Ends the sequence: pending bytes that never completed a character become U+FFFD each. */
    void finish(StringBuilder out) {
        drainBytes(true, out);
    }

    /** Back to the start of a sequence (after {@link #finish}). */
    void reset() {
        pendingLength = 0;
        producedText = false;
        bosSpaceSeen = false;
        atBos = true;
    }

    /**
     * Writes the decodable prefix of the pending bytes: complete characters, and U+FFFD for bytes that cannot start
     * a valid character. Unless {@code all}, a tail that is still the beginning of a valid character stays pending.
     */
    private void drainBytes(boolean all, StringBuilder out) {
        int pos = 0;
        while (pos < pendingLength) {
            int len = Utf8.validLength(pending, pos, pendingLength);
            if (len > 0) {
                out.appendCodePoint(Utf8.decode(pending, pos, len));
                pos += len;
            } else if (!all && Utf8.isIncompletePrefix(pending, pos, pendingLength)) {
                break;
            } else {
                out.append('\uFFFD');
                pos++;
            }
        }
        System.arraycopy(pending, pos, pending, 0, pendingLength - pos);
        pendingLength -= pos;
    }
}
