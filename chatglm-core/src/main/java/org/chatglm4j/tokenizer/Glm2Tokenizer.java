package org.chatglm4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.ChatGlmException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The tokenizer of ChatGLM2-6B, ChatGLM3-6B and CodeGeeX2-6B: a plain SentencePiece model ({@code tokenizer.model})
 * whose ids are the model's ids, followed by special tokens that exist only in the reference {@code SPTokenizer}
 * ({@code [MASK] [gMASK] [sMASK] sop eop}, and in v3 the role tokens {@code <|system|> <|user|> <|assistant|>
 * <|observation|>}). Immutable and thread-safe.
 *
 * <p>Quirks kept from the reference: {@link #encode} maps pieces back to ids through the special-token names first
 * (a SentencePiece piece spelled {@code sop} becomes the special id); {@link #decode} writes ids 0/1/2 as nothing,
 * special ids as nothing in v2 and as their names in v3, and fails on ids past the vocabulary in v2 only.
 */
public final class Glm2Tokenizer {
    /** The SentencePiece model's file name in a checkpoint folder. */
    public static final String MODEL_FILE = "tokenizer.model";

    static final List<String> COMMON_SPECIALS = List.of("[MASK]", "[gMASK]", "[sMASK]", "sop", "eop");
    static final List<String> ROLE_TOKENS = List.of("<|system|>", "<|user|>", "<|assistant|>", "<|observation|>");

    private final SentencePieceProcessor sp;
    private final boolean roleTokens;
    private final boolean encodeSpecialTokens;
    private final String[] specials;
    private final int spSize;
    private final int bosId;
    private final int eosId;
    private final int padId;

    /**
     * A ChatGLM2/3 tokenizer over the SentencePiece processor {@code sp} (shared, not copied).
     *
     * @param roleTokens          v3: the four role tokens follow the five common specials
     * @param encodeSpecialTokens v3's tokenizer option: role-token strings typed in the text become their ids
     */
    public Glm2Tokenizer(SentencePieceProcessor sp, boolean roleTokens, boolean encodeSpecialTokens) {
        if (encodeSpecialTokens && !roleTokens) {
            throw new ChatGlmException("encode_special_tokens needs the ChatGLM3 role tokens");
        }
        this.sp = sp;
        this.roleTokens = roleTokens;
        this.encodeSpecialTokens = encodeSpecialTokens;
        List<String> all = new ArrayList<>(COMMON_SPECIALS);
        if (roleTokens) all.addAll(ROLE_TOKENS);
        this.specials = all.toArray(String[]::new);
        this.spSize = sp.size();
        this.padId = sp.model().unkId();
        this.bosId = controlId(sp, "<s>");
        this.eosId = controlId(sp, "</s>");
    }

    /** {@code sp.bos_id()} / {@code eos_id()}: the id of the control piece, or -1. */
    private static int controlId(SentencePieceProcessor sp, String piece) {
        int id = sp.pieceToId(piece);
        return sp.type(id) == PieceType.CONTROL ? id : -1;
    }

    /**
     * Loads {@code tokenizer.model} from a folder (or the file itself) and reads {@code encode_special_tokens} from
     * {@code tokenizer_config.json} when present.
     */
    public static Glm2Tokenizer load(Path folder, boolean roleTokens) {
        Path modelFile = Files.isDirectory(folder) ? folder.resolve(MODEL_FILE) : folder;
        Path dir = Files.isDirectory(folder) ? folder : folder.toAbsolutePath().getParent();
        if (!Files.isRegularFile(modelFile)) {
            throw new ChatGlmException(modelFile + ": no such file (a ChatGLM2/3 tokenizer needs " + MODEL_FILE + ")");
        }
        boolean encodeSpecial = false;
        Path cfg = dir == null ? null : dir.resolve(TokenizerConfig.FILE_NAME);
        if (cfg != null && Files.isRegularFile(cfg)) {
            JsonNode v = TokenizerConfig.readObject(cfg).get("encode_special_tokens");
            if (v != null && !v.isNull()) {
                if (!v.isBoolean()) throw new ChatGlmException(cfg + ": encode_special_tokens must be true or false");
                encodeSpecial = v.booleanValue() && roleTokens;
            }
        }
        return new Glm2Tokenizer(SentencePieceProcessor.load(modelFile), roleTokens, encodeSpecial);
    }

    // ---------------------------------------------------------------- encoding

    /**
     * {@code tokenizer.tokenize(text)}: SentencePiece pieces; with {@code encode_special_tokens} the text is cut at
     * the role-token strings, each run encoded on its own (with its own dummy prefix).
     */
    public List<String> tokenize(String text) {
        if (!encodeSpecialTokens) return sp.encodeAsPieces(text);
        List<String> out = new ArrayList<>();
        int last = 0;
        for (int i = 0; i < text.length(); ) {
            String role = roleAt(text, i);
            if (role == null) {
                i++;
                continue;
            }
            if (last < i) out.addAll(sp.encodeAsPieces(text.substring(last, i)));
            out.add(role);
            i += role.length();
            last = i;
        }
        if (last < text.length()) out.addAll(sp.encodeAsPieces(text.substring(last)));
        return out;
    }

    private static String roleAt(String text, int at) {
        if (text.charAt(at) != '<') return null;
        for (String r : ROLE_TOKENS) if (text.startsWith(r, at)) return r;
        return null;
    }

    /** {@code tokenizer.encode(text, add_special_tokens=False)}: the pieces of {@link #tokenize} as ids. */
    public int[] encode(String text) {
        List<String> pieces = tokenize(text);
        int[] ids = new int[pieces.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = tokenToId(pieces.get(i));
        return ids;
    }

    /** {@code SPTokenizer.encode(text)}: SentencePiece ids, never a special id (used by {@code build_single_message}). */
    public int[] encodeSp(String text) {
        return sp.encodeAsIds(text);
    }

    /** {@code build_inputs_with_special_tokens(ids)}: {@code [gMASK, sop] + ids}. */
    public int[] buildInputs(int[] ids) {
        int[] out = new int[ids.length + 2];
        out[0] = gmaskId();
        out[1] = sopId();
        System.arraycopy(ids, 0, out, 2, ids.length);
        return out;
    }

    /** {@code tokenizer([text])["input_ids"]}: {@code [gMASK, sop] + encode(text)}. */
    public int[] encodeForModel(String text) {
        return buildInputs(encode(text));
    }

    /**
     * {@code tokenizer(texts, padding=True)}: every row padded on the left with the pad id to the longest row,
     * rounded up to a multiple of {@code padToMultipleOf} when that is positive.
     */
    public PaddedIds padLeft(List<int[]> rows, int padToMultipleOf) {
        int longest = 0;
        for (int[] r : rows) longest = Math.max(longest, r.length);
        if (padToMultipleOf > 0 && longest % padToMultipleOf != 0) {
            longest = (longest / padToMultipleOf + 1) * padToMultipleOf;
        }
        return PaddedIds.left(rows, longest, padId);
    }

    /** {@code convert_token_to_id}: a special-token name first, then SentencePiece's {@code PieceToId}. */
    public int tokenToId(String token) {
        for (int i = 0; i < specials.length; i++) if (specials[i].equals(token)) return spSize + i;
        return sp.pieceToId(token);
    }

    // ---------------------------------------------------------------- decoding

    /**
     * {@code convert_id_to_token}: "" for ids 0/1/2 (pad, bos, eos) and negative ids; a special id gives "" in v2
     * and its name in v3; an id past the vocabulary is an error in v2 and "" in v3.
     */
    public String idToToken(int id) {
        if (id >= spSize && id < spSize + specials.length) return roleTokens ? specials[id - spSize] : "";
        if (id == eosId || id == bosId || id == padId || id < 0) return "";
        if (id >= spSize) {
            if (roleTokens) return "";
            throw new ChatGlmException("token id " + id + " is out of range: the tokenizer " + sp.model().source()
                    + " has ids 0 to " + (vocabSize() - 1));
        }
        return sp.idToPiece(id);
    }

    /**
     * {@code tokenizer.decode(ids)}, what {@code chat()} uses: every id to its token ({@link #idToToken}), then one
     * SentencePiece {@code DecodePieces} (a token that is no piece decodes to itself); no clean-up.
     */
    public String decode(int[] ids) {
        PieceDecoder decoder = sp.newPieceDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) pushToken(decoder, id, out);
        decoder.finish(out);
        return out.toString();
    }

    void pushToken(PieceDecoder decoder, int id, StringBuilder out) {
        sp.pushPiece(decoder, idToToken(id), out);
    }

    /**
     * {@code SPTokenizer.decode(ids)}: v2 is SentencePiece's {@code DecodeIds} (special ids are out of its range: an
     * error); v3 decodes the runs between special ids separately and writes the specials as their names.
     */
    public String spDecode(int[] ids) {
        StringBuilder out = new StringBuilder();
        List<Integer> run = new ArrayList<>();
        for (int id : ids) {
            if (roleTokens && id >= spSize && id < spSize + specials.length) {
                out.append(sp.decodeIds(run.stream().mapToInt(Integer::intValue).toArray()));
                run.clear();
                out.append(specials[id - spSize]);
            } else {
                run.add(id);
            }
        }
        out.append(sp.decodeIds(run.stream().mapToInt(Integer::intValue).toArray()));
        return out.toString();
    }

    /** A decoder for a stream of generated ids whose deltas concatenate to {@link #decode} of all of them. */
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(sp.newPieceDecoder(), this::pushToken, id -> false, new TextStage[0]);
    }

    // ---------------------------------------------------------------- vocabulary

    /** {@code tokenizer.vocab_size} ({@code n_words}): SentencePiece pieces plus the appended specials. */
    public int vocabSize() {
        return spSize + specials.length;
    }

    /** The id of a special token ({@code [gMASK]}, {@code sop}, {@code <|user|>}, …); an error for other names. */
    public int specialId(String name) {
        for (int i = 0; i < specials.length; i++) if (specials[i].equals(name)) return spSize + i;
        throw new ChatGlmException(name + " is not a special token of this tokenizer");
    }

    /** True for ChatGLM3's tokenizer (role tokens appended). */
    public boolean hasRoleTokens() {
        return roleTokens;
    }

    /**
     * Whether role-token strings typed in the text ({@code <|user|>}, ...) are encoded as their ids (ChatGLM3's
     * option).
     */
    public boolean encodeSpecialTokens() {
        return encodeSpecialTokens;
    }

    /** The appended special tokens in id order (from {@code sentencePieceSize()}). */
    public List<String> specialTokens() {
        return List.of(specials);
    }

    /** Size of the SentencePiece vocabulary: the first id of the appended special tokens. */
    public int sentencePieceSize() {
        return spSize;
    }

    /** The id of {@code [gMASK]}, which starts every prompt. */
    public int gmaskId() {
        return spSize + 1;
    }

    /** The id of {@code sop}, which follows {@code [gMASK]} at the start of every prompt. */
    public int sopId() {
        return spSize + 3;
    }

    /** {@code </s>}, the model's end of text. */
    public int eosId() {
        return eosId;
    }

    /** The pad id (= the unknown id). */
    public int padId() {
        return padId;
    }

    /** The underlying SentencePiece processor (shared, not a copy). */
    public SentencePieceProcessor sentencePiece() {
        return sp;
    }

    @Override
    public String toString() {
        return "Glm2Tokenizer[" + sp.model().source() + ", " + vocabSize() + " ids" + (roleTokens ? ", v3" : "") + "]";
    }
}
