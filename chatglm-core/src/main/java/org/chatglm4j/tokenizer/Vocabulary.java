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

    Vocabulary(SentencePieceModel model) {
        this.model = model;
        int n = model.size();
        types = new PieceType[n];
        int segmentable = 0;
        int user = 0;
        boolean unused = false;
        for (int i = 0; i < n; i++) {
            types[i] = model.type(i);
            if (SentencePieceModel.isSegmentable(types[i])) segmentable++;
            if (types[i] == PieceType.USER_DEFINED) user++;
            unused |= types[i] == PieceType.UNUSED;
        }
        hasUnused = unused;
        byte[][] segKeys = new byte[segmentable][];
        int[] segIds = new int[segmentable];
        byte[][] userKeys = new byte[user][];
        int[] userIds = new int[user];
        byte[][] resKeys = new byte[n - segmentable][];
        int[] resIds = new int[n - segmentable];
        int s = 0;
        int u = 0;
        int r = 0;
        for (int i = 0; i < n; i++) {
            byte[] key = model.pieceUtf8(i);
            if (SentencePieceModel.isSegmentable(types[i])) {
                segKeys[s] = key;
                segIds[s++] = i;
                if (types[i] == PieceType.USER_DEFINED) {
                    userKeys[u] = key;
                    userIds[u++] = i;
                }
            } else {
                resKeys[r] = key;
                resIds[r++] = i;
            }
        }
        pieces = new BytesTrie(segKeys, segIds);
        userDefined = new BytesTrie(userKeys, userIds);
        reserved = new BytesTrie(resKeys, resIds);
        if (model.byteFallback()) {
            byteIds = new int[256];
            for (int b = 0; b < 256; b++) byteIds[b] = pieceToId(SentencePieceModel.byteToPiece(b));
        } else {
            byteIds = null;
        }
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
        int id = reserved.get(text, from, to);
        if (id >= 0) return id;
        id = pieces.get(text, from, to);
        return id >= 0 ? id : model.unkId();
    }

    int pieceToId(String piece) {
        byte[] b = Utf8.encode(piece);
        return pieceToId(b, 0, b.length);
    }

    /** The id of the byte piece for {@code b}; only with byte fallback. */
    int byteId(int b) {
        return byteIds[b & 0xFF];
    }
}
