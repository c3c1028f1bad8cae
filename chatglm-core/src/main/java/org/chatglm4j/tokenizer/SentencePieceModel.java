package org.chatglm4j.tokenizer;

import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The content of a SentencePiece {@code ModelProto} file such as {@code ice_text.model}: the vocabulary (piece,
 * score, type per id) and the parts of {@code trainer_spec} and {@code normalizer_spec} that encoding and decoding
 * use. Parsing is a safe protobuf wire-format walk (unknown fields skipped, every length checked); the vocabulary
 * is then checked the way SentencePiece checks it when it loads a model, so a file SentencePiece would reject is
 * rejected here too, with a one-line {@link ChatGlmException} naming the file.
 */
public final class SentencePieceModel {
    /** The segmentation algorithm ({@code trainer_spec.model_type}). */
    public enum Algorithm {
        /** Unigram language model: the most probable segmentation by piece scores. */
        UNIGRAM,
        /** Byte-pair encoding: merges by piece score. */
        BPE,
        /** Whitespace-separated words. */
        WORD,
        /** One piece per character. */
        CHAR
    }

    /** Far above any real tokenizer (ChatGLM-6B's is 2.7 MB); protects against reading a wrong multi-GB file. */
    static final long MAX_FILE_BYTES = 1L << 30;

    private static final String DEFAULT_UNK_SURFACE = " \u2047 ";

    private final String source;
    private final byte[][] pieceUtf8;
    /** Decoded lazily: most of a 130k vocabulary is never looked at as text. Racy but benign (String is immutable). */
    private final String[] pieces;
    /** Ids of the normal/user-defined/unused pieces, and of the others, each sorted by their UTF-8 bytes. */
    private final int[] segmentableOrder;
    private final int[] reservedOrder;
    private final float[] scores;
    private final PieceType[] types;
    private final Algorithm algorithm;
    private final boolean byteFallback;
    private final boolean treatWhitespaceAsSuffix;
    private final String unkSurface;
    private final NormalizerSpec normalizerSpec;
    private final int unkId;

    private SentencePieceModel(String source, byte[][] pieceUtf8, float[] scores, PieceType[] types,
                               int[] segmentableOrder, int[] reservedOrder, Algorithm algorithm, boolean byteFallback,
                               boolean treatWhitespaceAsSuffix, String unkSurface, NormalizerSpec normalizerSpec,
                               int unkId) {
        this.source = source;
        this.pieceUtf8 = pieceUtf8;
        this.pieces = new String[pieceUtf8.length];
        this.segmentableOrder = segmentableOrder;
        this.reservedOrder = reservedOrder;
        this.scores = scores;
        this.types = types;
        this.algorithm = algorithm;
        this.byteFallback = byteFallback;
        this.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix;
        this.unkSurface = unkSurface;
        this.normalizerSpec = normalizerSpec;
        this.unkId = unkId;
    }

    /** Reads and checks a model file. */
    public static SentencePieceModel load(Path file) {
        String source = file.toString();
        byte[] data;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new ChatGlmException(source + ": " + size + " bytes is too large for a SentencePiece model");
            }
            data = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ChatGlmException(source + ": no such file", e);
        } catch (IOException e) {
            throw new ChatGlmException(source + ": cannot read SentencePiece model: " + e, e);
        }
        return parse(data, source);
    }

    /** Parses a serialized {@code ModelProto}; {@code source} names it in error messages. */
    public static SentencePieceModel parse(byte[] data, String source) {
        if (data.length == 0) throw new ChatGlmException(source + ": empty file, not a SentencePiece model");
        Builder b = new Builder(source);
        ProtoReader r = new ProtoReader(data, 0, data.length, source);
        while (r.hasMore()) {
            int tag = r.readTag();
            switch (tag >>> 3) {
                case 1 -> b.addPiece(expect(r, tag, ProtoReader.LENGTH_DELIMITED).readMessage());
                case 2 -> b.readTrainerSpec(expect(r, tag, ProtoReader.LENGTH_DELIMITED).readMessage());
                case 3 -> b.readNormalizerSpec(expect(r, tag, ProtoReader.LENGTH_DELIMITED).readMessage());
                case 5 -> b.readDenormalizerSpec(expect(r, tag, ProtoReader.LENGTH_DELIMITED).readMessage());
                default -> r.skip(tag & 7); // self_test_data (4) and extensions
            }
        }
        return b.build();
    }

    /** Checks that a known field has the wire type its declaration implies. */
    private static ProtoReader expect(ProtoReader r, int tag, int wireType) {
        if ((tag & 7) != wireType) {
            throw r.corrupt("field " + (tag >>> 3) + " has wire type " + (tag & 7) + ", expected " + wireType,
                    r.position());
        }
        return r;
    }

    /** Accumulates the fields while parsing (proto2: a repeated scalar keeps the last value). */
    private static final class Builder {
        private final String source;
        private byte[][] utf8 = new byte[1024][];
        private int count;
        private float[] scores = new float[1024];
        private PieceType[] types = new PieceType[1024];
        private int modelType = 1;
        private boolean byteFallback;
        private boolean treatWhitespaceAsSuffix;
        private String unkSurface = DEFAULT_UNK_SURFACE;
        private String normName = "";
        private byte[] charsmap = new byte[0];
        private boolean addDummyPrefix = true;
        private boolean removeExtraWhitespaces = true;
        private boolean escapeWhitespaces = true;
        private boolean denormalizerHasRules;

        Builder(String source) {
            this.source = source;
        }

        void addPiece(ProtoReader r) {
            byte[] piece = new byte[0];
            float score = 0f;
            PieceType type = PieceType.NORMAL;
            while (r.hasMore()) {
                int tag = r.readTag();
                switch (tag) {
                    case (1 << 3) | ProtoReader.LENGTH_DELIMITED -> piece = r.readBytes();
                    case (2 << 3) | ProtoReader.FIXED32 -> score = r.readFloat();
                    case (3 << 3) | ProtoReader.VARINT -> type = PieceType.fromProto(r.readInt32());
                    default -> r.skip(tag & 7);
                }
            }
            if (count == utf8.length) {
                if (count >= BytesTrie.MAX_KEYS) throw fail("more than " + BytesTrie.MAX_KEYS + " pieces");
                utf8 = java.util.Arrays.copyOf(utf8, count * 2);
                scores = java.util.Arrays.copyOf(scores, count * 2);
                types = java.util.Arrays.copyOf(types, count * 2);
            }
            utf8[count] = piece;
            scores[count] = score;
            types[count] = type;
            count++;
        }

        void readTrainerSpec(ProtoReader r) {
            while (r.hasMore()) {
                int tag = r.readTag();
                switch (tag) {
                    case (3 << 3) | ProtoReader.VARINT -> modelType = r.readInt32();
                    case (24 << 3) | ProtoReader.VARINT -> treatWhitespaceAsSuffix = r.readBool();
                    case (35 << 3) | ProtoReader.VARINT -> byteFallback = r.readBool();
                    case (44 << 3) | ProtoReader.LENGTH_DELIMITED -> unkSurface = r.readString();
                    default -> r.skip(tag & 7);
                }
            }
        }

        void readNormalizerSpec(ProtoReader r) {
            while (r.hasMore()) {
                int tag = r.readTag();
                switch (tag) {
                    case (1 << 3) | ProtoReader.LENGTH_DELIMITED -> normName = r.readString();
                    case (2 << 3) | ProtoReader.LENGTH_DELIMITED -> charsmap = r.readBytes();
                    case (3 << 3) | ProtoReader.VARINT -> addDummyPrefix = r.readBool();
                    case (4 << 3) | ProtoReader.VARINT -> removeExtraWhitespaces = r.readBool();
                    case (5 << 3) | ProtoReader.VARINT -> escapeWhitespaces = r.readBool();
                    default -> r.skip(tag & 7);
                }
            }
        }

        void readDenormalizerSpec(ProtoReader r) {
            while (r.hasMore()) {
                int tag = r.readTag();
                if (tag == ((2 << 3) | ProtoReader.LENGTH_DELIMITED)) {
                    denormalizerHasRules |= r.readBytes().length > 0;
                } else {
                    r.skip(tag & 7);
                }
            }
        }

        SentencePieceModel build() {
            int n = count;
            if (n == 0) throw fail("the model has no pieces");
            Algorithm algorithm = switch (modelType) {
                case 2 -> Algorithm.BPE;
                case 3 -> Algorithm.WORD;
                case 4 -> Algorithm.CHAR;
                default -> Algorithm.UNIGRAM; // proto2 keeps the default for unknown enum numbers
            };
            if (algorithm != Algorithm.UNIGRAM && algorithm != Algorithm.BPE) {
                throw fail("model_type " + algorithm + " is not supported (only UNIGRAM and BPE)");
            }
            if (denormalizerHasRules) throw fail("denormalizer rules are not supported");
            byte[][] keys = java.util.Arrays.copyOf(utf8, n);
            // The checks SentencePiece's ModelInterface::InitializePieces makes.
            boolean[] bytesFound = new boolean[256];
            int unkId = -1;
            int segmentable = 0;
            for (int i = 0; i < n; i++) {
                byte[] p = keys[i];
                if (p.length == 0) throw fail("piece " + i + " is empty");
                if (!Utf8.isValid(p)) throw fail("piece " + i + " is not valid UTF-8");
                if (isSegmentable(types[i])) segmentable++;
                if (types[i] == PieceType.UNKNOWN) {
                    if (unkId >= 0) throw fail("more than one unknown piece (ids " + unkId + " and " + i + ")");
                    unkId = i;
                }
                if (types[i] == PieceType.BYTE) {
                    String name = new String(p, StandardCharsets.UTF_8);
                    if (!byteFallback) throw fail("byte piece " + name + " although byte_fallback is false");
                    int value = byteOfPiece(name);
                    if (value < 0) throw fail("byte piece " + name + " is not of the form <0xXX>");
                    bytesFound[value] = true;
                }
            }
            if (unkId < 0) throw fail("no unknown piece (<unk>)");
            if (byteFallback) {
                for (int v = 0; v < 256; v++) {
                    if (!bytesFound[v]) throw fail("byte_fallback is true but there is no piece <0x%02X>".formatted(v));
                }
            }
            // Like SentencePiece, a piece must be unique among the segmentable pieces (normal, user-defined,
            // unused) and among the reserved ones (unknown, control, byte), not across the two groups.
            int[] seg = new int[segmentable];
            int[] res = new int[n - segmentable];
            for (int i = 0, s = 0, r = 0; i < n; i++) {
                if (isSegmentable(types[i])) seg[s++] = i;
                else res[r++] = i;
            }
            int[] segOrder = BytesTrie.sortedOrder(keys, seg);
            int[] resOrder = BytesTrie.sortedOrder(keys, res);
            checkUnique(keys, segOrder);
            checkUnique(keys, resOrder);
            NormalizerSpec spec = new NormalizerSpec(normName, charsmap, addDummyPrefix, removeExtraWhitespaces,
                    escapeWhitespaces);
            return new SentencePieceModel(source, keys, java.util.Arrays.copyOf(scores, n),
                    java.util.Arrays.copyOf(types, n), segOrder, resOrder, algorithm, byteFallback,
                    treatWhitespaceAsSuffix, unkSurface, spec, unkId);
        }

        private void checkUnique(byte[][] keys, int[] sorted) {
            for (int i = 1; i < sorted.length; i++) {
                if (java.util.Arrays.equals(keys[sorted[i - 1]], keys[sorted[i]])) {
                    int a = Math.min(sorted[i - 1], sorted[i]);
                    int b = Math.max(sorted[i - 1], sorted[i]);
                    throw fail("piece " + new String(keys[a], StandardCharsets.UTF_8) + " is defined twice (ids "
                            + a + " and " + b + ")");
                }
            }
        }

        private ChatGlmException fail(String problem) {
            return new ChatGlmException(source + ": invalid SentencePiece model: " + problem);
        }
    }

    /** Normal, user-defined and unused pieces are the ones the segmenter's dictionary holds. */
    static boolean isSegmentable(PieceType type) {
        return type == PieceType.NORMAL || type == PieceType.USER_DEFINED || type == PieceType.UNUSED;
    }

    /** The byte a {@code <0xXX>} piece stands for (upper-case hex, as SentencePiece writes them), or -1. */
    static int byteOfPiece(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') return -1;
        int hi = hexDigit(piece.charAt(3));
        int lo = hexDigit(piece.charAt(4));
        return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    /** The name of a byte piece, {@code <0xXX>}. */
    static String byteToPiece(int b) {
        return "<0x%02X>".formatted(b & 0xFF);
    }

    /** The file (or other origin) this model was read from, for messages. */
    public String source() {
        return source;
    }

    /** Number of pieces. */
    public int size() {
        return pieces.length;
    }

    /** The text of the piece with this id. */
    public String piece(int id) {
        checkId(id);
        String p = pieces[id];
        if (p == null) {
            p = new String(pieceUtf8[id], StandardCharsets.UTF_8);
            pieces[id] = p;
        }
        return p;
    }

    /** Ids of the normal, user-defined and unused pieces, sorted by their UTF-8 bytes. */
    int[] segmentableOrder() {
        return segmentableOrder;
    }

    /** Ids of the unknown, control and byte pieces, sorted by their UTF-8 bytes. */
    int[] reservedOrder() {
        return reservedOrder;
    }

    byte[] pieceUtf8(int id) {
        return pieceUtf8[id];
    }

    /** The score of the piece with this id. */
    public float score(int id) {
        checkId(id);
        return scores[id];
    }

    /** The type of the piece with this id. */
    public PieceType type(int id) {
        checkId(id);
        return types[id];
    }

    private void checkId(int id) {
        if (id < 0 || id >= pieceUtf8.length) {
            throw new ChatGlmException("piece id " + id + " is out of range: " + source + " has " + pieceUtf8.length
                    + " pieces");
        }
    }

    /** The segmentation algorithm. */
    public Algorithm algorithm() {
        return algorithm;
    }

    /** Whether unknown characters become byte pieces. */
    public boolean byteFallback() {
        return byteFallback;
    }

    /** Whether the whitespace marker ends pieces instead of starting them. */
    public boolean treatWhitespaceAsSuffix() {
        return treatWhitespaceAsSuffix;
    }

    /** What {@code <unk>} decodes to ({@code trainer_spec.unk_surface}, default " ⁇ "). */
    public String unkSurface() {
        return unkSurface;
    }

    /** How text is normalized before segmentation. */
    public NormalizerSpec normalizerSpec() {
        return normalizerSpec;
    }

    /** The id of the UNKNOWN piece. */
    public int unkId() {
        return unkId;
    }
}
