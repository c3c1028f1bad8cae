package org.chatglm4j.tokenizer;

/**
 * The lookup structures SentencePiece builds over a model's pieces: a dictionary of the segmentable pieces
 * (normal, user-defined, unused) for the segmenters, the user-defined pieces (matched atomically, never
 * normalized), the reserved pieces (unknown, control, byte), and the byte-fallback ids.
 */
final class Vocabulary {
    final SentencePieceModel model;
    /** Normal, user-defined and unused pieces → id. */
    final BytesTrie pieces;
    /** User-defined pieces → id. */
    final BytesTrie userDefined;
    /** Unknown, control and byte pieces → id; SentencePiece looks these up first. */
    private final BytesTrie reserved;
    /** Id of {@code <0xXX>} for every byte, or null without byte fallback. */
    private final int[] byteIds;
    private final PieceType[] types;
    private final boolean hasUnused;
    private final int[] canonicalIds;

    Vocabulary(SentencePieceModel model) {
        this.model = model;
        int n = model.size();
        types = new PieceType[n];
        byte[][] keys = new byte[n][];
        boolean unused = false;
        for (int i = 0; i < n; i++) {
            types[i] = model.type(i);
            keys[i] = model.pieceUtf8(i);
            unused |= types[i] == PieceType.UNUSED;
        }
        hasUnused = unused;
        int[] segOrder = model.segmentableOrder();
        pieces = new BytesTrie(keys, segOrder);
        reserved = new BytesTrie(keys, model.reservedOrder());
        // Filtering a sorted order keeps it sorted.
        userDefined = new BytesTrie(keys, java.util.Arrays.stream(segOrder)
                .filter(id -> types[id] == PieceType.USER_DEFINED).toArray());
        canonicalIds = new int[n];
        for (int i = 0; i < n; i++) canonicalIds[i] = i;
        // A string can be both a reserved and a segmentable piece; lookups then find the reserved one.
        for (int r : model.reservedOrder()) {
            int s = pieces.get(keys[r], 0, keys[r].length);
            if (s >= 0) canonicalIds[s] = r;
        }
        if (model.byteFallback()) {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++) byteIds[b] = pieceToId(SentencePieceModel.byteToPiece(b));
        } else {
            byteIds = null;
        }
    }

    /** {@code PieceToId(IdToPiece(id))}: what decoding an id really looks up (differs only for odd models). */
    int canonicalId(int id) {
        return canonicalIds[id];
    }

    int size() {
        return types.length;
    }

    PieceType type(int id) {
        return types[id];
    }

    float score(int id) {
        return model.score(id);
    }

    int unkId() {
        return model.unkId();
    }

    boolean hasUnused() {
        return hasUnused;
    }

    /** SentencePiece's {@code PieceToId}: reserved pieces first, then the others, else the unknown id. */
    int pieceToId(byte[] text, int from, int to) {
        return new Lookup().pieceToId(text, from, to);
    }

    /** {@code PieceToId} of a string. */
    int pieceToId(String piece) {
        byte[] b = Utf8.encode(piece);
        return pieceToId(b, 0, b.length);
    }

    /** Cursors for repeated lookups in one encoding call (no allocation per lookup). Not thread-safe. */
    final class Lookup {
        final BytesTrie.Cursor pieces = Vocabulary.this.pieces.cursor();
        final BytesTrie.Cursor userDefined = Vocabulary.this.userDefined.cursor();
        private final BytesTrie.Cursor reserved = Vocabulary.this.reserved.cursor();

        int pieceToId(byte[] text, int from, int to) {
            int id = reserved.exact(text, from, to);
            if (id >= 0) return id;
            id = pieces.exact(text, from, to);
            return id >= 0 ? id : model.unkId();
        }
    }

    /** The id of the byte piece for {@code b}; only with byte fallback. */
    int byteId(int b) {
        return byteIds[b & 0xFF];
    }
}
