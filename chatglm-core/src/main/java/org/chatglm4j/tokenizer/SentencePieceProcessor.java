package org.chatglm4j.tokenizer;

import org.chatglm4j.ChatGlmException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A SentencePiece tokenizer (the parts of {@code sentencepiece.SentencePieceProcessor} 0.1.97 that ChatGLM uses):
 * normalize, segment (unigram or BPE), expand unknown characters into byte pieces when the model has byte
 * fallback, and decode. Immutable and thread-safe.
 */
public final class SentencePieceProcessor {
    private final SentencePieceModel model;
    private final Vocabulary vocab;
    private final Normalizer normalizer;
    private final Segmenter segmenter;

    /** A processor over a parsed model. */
    public SentencePieceProcessor(SentencePieceModel model) {
        this.model = model;
        this.vocab = new Vocabulary(model);
        this.normalizer = new Normalizer(model.normalizerSpec(), model.treatWhitespaceAsSuffix(), vocab.userDefined,
                model.source());
        this.segmenter = switch (model.algorithm()) {
            case UNIGRAM -> new UnigramSegmenter(vocab);
            case BPE -> new BpeSegmenter(vocab);
            default -> throw new ChatGlmException(model.source() + ": model_type " + model.algorithm()
                    + " is not supported");
        };
    }

    /** Parses a SentencePiece model file (protobuf {@code ModelProto}). */
    public static SentencePieceProcessor load(Path modelFile) {
        return new SentencePieceProcessor(SentencePieceModel.load(modelFile));
    }

    /** The parsed model. */
    public SentencePieceModel model() {
        return model;
    }

    /** Number of pieces. */
    public int size() {
        return model.size();
    }

    /** {@code EncodeAsIds} and {@code EncodeAsPieces} in one pass. */
    public Encoding encode(String text) {
        List<String> pieces = new ArrayList<>();
        int[] ids = encode(text, pieces);
        return new Encoding(ids, pieces);
    }

    /** The ids of {@code text}, as SentencePiece's {@code EncodeAsIds}. */
    public int[] encodeAsIds(String text) {
        return encode(text, null);
    }

    /** The pieces of {@code text}, as SentencePiece's {@code EncodeAsPieces}. */
    public List<String> encodeAsPieces(String text) {
        return encode(text).pieces();
    }

    /** Normalize, segment, then SentencePiece's {@code PopulateSentencePieceText}; pieces go to a non-null list. */
    private int[] encode(String text, List<String> pieces) {
        byte[] normalized = normalizer.normalize(Utf8.encode(text));
        Segmentation seg = segmenter.segment(normalized);
        int[] ids = new int[seg.size()];
        int count = 0;
        boolean prevUnknown = false;
        for (int i = 0; i < seg.size(); i++) {
            int id = seg.id(i);
            int begin = seg.begin(i);
            int end = seg.end(i);
            PieceType type = vocab.type(id);
            boolean unknown = type == PieceType.UNKNOWN;
            if (type == PieceType.CONTROL) {
                // SentencePiece's encoder fails on this (a control piece consumes no text); only odd BPE vocabularies
                // whose control piece is a single character can get here.
                throw new ChatGlmException(model.source() + ": cannot encode the text: it segments into the control "
                        + "piece " + model.piece(id));
            }
            if (unknown && model.byteFallback()) {
                // Each UTF-8 byte of the unknown character becomes its <0xXX> piece.
                for (int k = begin; k < end; k++) {
                    int byteId = vocab.byteId(normalized[k]);
                    ids = grow(ids, count + 1);
                    ids[count++] = byteId;
                    if (pieces != null) pieces.add(model.piece(byteId));
                }
            } else if (unknown && prevUnknown) {
                // Consecutive unknown characters become one unknown piece, as in SentencePiece.
                if (pieces != null) {
                    int last = pieces.size() - 1;
                    pieces.set(last, pieces.get(last) + surface(normalized, begin, end));
                }
            } else {
                ids = grow(ids, count + 1);
                ids[count++] = id;
                if (pieces != null) pieces.add(unknown ? surface(normalized, begin, end) : model.piece(id));
            }
            prevUnknown = unknown;
        }
        return count == ids.length ? ids : java.util.Arrays.copyOf(ids, count);
    }

    private static String surface(byte[] text, int begin, int end) {
        return new String(text, begin, end - begin, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static int[] grow(int[] a, int need) {
        return need <= a.length ? a : java.util.Arrays.copyOf(a, Math.max(need, a.length * 2));
    }

    /** {@code DecodeIds}; an id outside the vocabulary is an error, as in SentencePiece. */
    public String decodeIds(int[] ids) {
        PieceDecoder decoder = newPieceDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) pushId(decoder, id, out);
        decoder.finish(out);
        return out.toString();
    }

    /** {@code DecodePieces}: strings that are not pieces decode to themselves. */
    public String decodePieces(List<String> pieces) {
        PieceDecoder decoder = newPieceDecoder();
        StringBuilder out = new StringBuilder();
        for (String piece : pieces) decoder.push(pieceToId(piece), piece, out);
        decoder.finish(out);
        return out.toString();
    }

    PieceDecoder newPieceDecoder() {
        return new PieceDecoder(vocab);
    }

    /** Feeds vocabulary id {@code id} to an incremental decoder (by its piece, as SentencePiece does). */
    void pushId(PieceDecoder decoder, int id, StringBuilder out) {
        checkId(id);
        decoder.push(vocab.canonicalId(id), model.piece(id), out);
    }

    /** Feeds an arbitrary string as a piece to an incremental decoder. */
    void pushPiece(PieceDecoder decoder, String piece, StringBuilder out) {
        decoder.push(pieceToId(piece), piece, out);
    }

    /** {@code PieceToId}: the id of a piece, or the unknown id. */
    public int pieceToId(String piece) {
        return vocab.pieceToId(piece);
    }

    /** {@code IdToPiece}. */
    public String idToPiece(int id) {
        checkId(id);
        return model.piece(id);
    }

    /** The type of the piece with this id. */
    public PieceType type(int id) {
        checkId(id);
        return model.type(id);
    }

    private void checkId(int id) {
        if (id < 0 || id >= model.size()) {
            throw new ChatGlmException("token id " + id + " is out of range: " + model.source() + " has "
                    + model.size() + " pieces");
        }
    }
}
