package org.chatglm4j.tokenizer;

import org.chatglm4j.ChatGlmException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * ChatGLM-6B's tokenizer: the reference {@code SPTokenizer} (newline and whitespace-run pieces around a
 * SentencePiece model, ids shifted by {@code num_image_tokens}) and the {@code ChatGLMTokenizer} on top of the
 * transformers 4.27 {@code PreTrainedTokenizer} (special-token splitting, {@code [gMASK] <sop>} inputs, pad removal
 * and clean-up on decode). Immutable and thread-safe; {@link #streamingDecoder()} hands out per-stream state.
 *
 * <p>Two encodings exist because the reference has two: {@link #encode} is {@code SPTokenizer.encode} (special
 * token strings typed in the text are ordinary text), {@link #encodeForModel} is {@code tokenizer(text)} as
 * {@code chat()} uses it (the strings {@code <sop> <eop> <pad> <unk> [MASK]} become their ids).
 */
public final class ChatGlmTokenizer {
    /** The SentencePiece model's file name in a checkpoint folder. */
    public static final String MODEL_FILE = "ice_text.model";

    private final SentencePieceProcessor sp;
    private final TokenizerConfig config;
    private final int numImageTokens;
    private final int gmaskId;
    private final int maskId;
    private final int bosId;
    private final int eosId;
    private final int padId;
    private final int unkId;
    /** The strings the HF layer never splits (bos, eos, pad, unk, mask — not [gMASK]). */
    private final String[] specialStrings;
    /** The first characters of {@link #specialStrings}: a cheap pre-check while scanning. */
    private final String firstChars;

    /** A tokenizer over a SentencePiece model with the given settings. */
    public ChatGlmTokenizer(SentencePieceProcessor sp, TokenizerConfig config) {
        this.sp = sp;
        this.config = config;
        this.numImageTokens = config.numImageTokens();
        this.gmaskId = requirePiece(config.gmaskToken(), "gmask_token");
        this.maskId = requirePiece(config.maskToken(), "mask_token");
        this.bosId = requirePiece(config.bosToken(), "bos_token");
        this.eosId = requirePiece(config.eosToken(), "eos_token");
        this.padId = requirePiece(config.padToken(), "pad_token");
        this.unkId = requirePiece(config.unkToken(), "unk_token");
        this.specialStrings = List.of(config.bosToken(), config.eosToken(), config.padToken(), config.unkToken(),
                config.maskToken()).stream().distinct().sorted().toArray(String[]::new);
        StringBuilder first = new StringBuilder();
        for (String t : specialStrings) first.append(t.charAt(0));
        this.firstChars = first.toString();
    }

    /**
     * Loads {@code ice_text.model} and, when present, {@code tokenizer_config.json} from a checkpoint folder
     * (without a config: the class defaults, {@code num_image_tokens} = 20000). A path to the model file itself
     * is accepted too (its folder is then searched for the config).
     */
    public static ChatGlmTokenizer load(Path folder) {
        Path modelFile = Files.isDirectory(folder) ? folder.resolve(MODEL_FILE) : folder;
        Path dir = Files.isDirectory(folder) ? folder : folder.toAbsolutePath().getParent();
        if (!Files.exists(modelFile)) {
            throw new ChatGlmException(modelFile + ": no such file (a ChatGLM tokenizer needs " + MODEL_FILE + ")");
        }
        Path configFile = dir == null ? null : dir.resolve(TokenizerConfig.FILE_NAME);
        TokenizerConfig cfg = configFile != null && Files.exists(configFile)
                ? TokenizerConfig.read(configFile) : TokenizerConfig.defaults();
        return load(modelFile, cfg);
    }

    /** Loads {@code ice_text.model} (or another SentencePiece file) with the given settings. */
    public static ChatGlmTokenizer load(Path modelFile, TokenizerConfig cfg) {
        return new ChatGlmTokenizer(SentencePieceProcessor.load(modelFile), cfg);
    }

    private int requirePiece(String token, String key) {
        int id = pieceToId(token);
        int spId = id - numImageTokens;
        if (spId >= 0 && sp.type(spId) == PieceType.UNKNOWN && !sp.idToPiece(spId).equals(token)) {
            throw new ChatGlmException(sp.model().source() + ": the vocabulary has no piece " + token + " (the "
                    + key + " of the tokenizer config)");
        }
        return id;
    }

    // ---------------------------------------------------------------- SPTokenizer level

    /**
     * The string given to SentencePiece: {@code \n} → {@code <n>}, tab → {@code <|tab|>}, runs of k ≥ 2 spaces →
     * {@code <|blank_k|>} (longer runs: {@code <|blank_max|>} repeated, then the rest).
     */
    public String preprocess(String text) {
        int max = config.maxBlankLength();
        StringBuilder out = new StringBuilder(text.length() + 16);
        int n = text.length();
        for (int i = 0; i < n; ) {
            char c = text.charAt(i);
            if (c == '\n') {
                out.append("<n>");
                i++;
            } else if (c == '\t') {
                out.append("<|tab|>");
                i++;
            } else if (c == ' ') {
                int j = i;
                while (j < n && text.charAt(j) == ' ') j++;
                // Same as the reference's str.replace for k = max … 2: whole max-runs from the left, then the rest.
                int run = j - i;
                for (; run >= max; run -= max) out.append(MarkupExpander.blankToken(max));
                if (run >= 2) out.append(MarkupExpander.blankToken(run));
                else if (run == 1) out.append(' ');
                i = j;
            } else {
                out.append(c);
                i++;
            }
        }
        return out.toString();
    }

    /** {@code SPTokenizer.encode(text)}: token ids of the text, without special tokens. */
    public int[] encode(String text) {
        return encode(text, true);
    }

    /**
     * {@code SPTokenizer.encode(text, add_dummy_prefix)}; without the dummy prefix the reference encodes
     * {@code "<n>" + text} and drops the first two ids (the "▁" and {@code <n>} pieces).
     */
    public int[] encode(String text, boolean addDummyPrefix) {
        String s = preprocess(text);
        if (!addDummyPrefix) s = "<n>" + s;
        int[] ids = sp.encodeAsIds(s);
        int from = addDummyPrefix ? 0 : Math.min(2, ids.length);
        int[] out = Arrays.copyOfRange(ids, from, ids.length);
        if (numImageTokens != 0) for (int i = 0; i < out.length; i++) out[i] += numImageTokens;
        return out;
    }

    /** {@code SPTokenizer.tokenize(text)}: the pieces of {@link #encode}. */
    public List<String> tokenize(String text) {
        return tokenize(text, true);
    }

    /** The pieces of {@link #encode(String, boolean)}. */
    public List<String> tokenize(String text, boolean addDummyPrefix) {
        String s = preprocess(text);
        if (!addDummyPrefix) s = "<n>" + s;
        List<String> pieces = sp.encodeAsPieces(s);
        return addDummyPrefix ? pieces : pieces.subList(Math.min(2, pieces.size()), pieces.size());
    }

    /**
     * {@code SPTokenizer.decode}: image ids (below {@code num_image_tokens}) are dropped, the rest decoded by
     * SentencePiece, then {@code <n>}, {@code <|tab|>}, {@code <|blank_k|>} expanded. An id outside
     * {@code [0, vocabSize)} is an error (the reference would silently drop a negative one).
     */
    public String decode(int[] ids) {
        PieceDecoder decoder = sp.newPieceDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            checkId(id);
            if (id >= numImageTokens) sp.pushId(decoder, id - numImageTokens, out);
        }
        decoder.finish(out);
        return MarkupExpander.expandAll(out.toString(), config.maxBlankLength());
    }

    // ---------------------------------------------------------------- HF (ChatGLMTokenizer) level

    /** {@code build_inputs_with_special_tokens(ids)}: {@code ids + [gMASK, <sop>]}. */
    public int[] buildInputs(int[] ids) {
        int[] out = Arrays.copyOf(ids, ids.length + 2);
        out[ids.length] = gmaskId;
        out[ids.length + 1] = bosId;
        return out;
    }

    /** {@code build_inputs_with_special_tokens(a, b)}: {@code a + [gMASK, <sop>] + b + [<eop>]}. */
    public int[] buildInputs(int[] a, int[] b) {
        int[] out = new int[a.length + b.length + 3];
        System.arraycopy(a, 0, out, 0, a.length);
        out[a.length] = gmaskId;
        out[a.length + 1] = bosId;
        System.arraycopy(b, 0, out, a.length + 2, b.length);
        out[out.length - 1] = eosId;
        return out;
    }

    /** {@code tokenizer(text)["input_ids"]}, what {@code chat()} feeds the model: HF-level ids + {@code [gMASK, <sop>]}. */
    public int[] encodeForModel(String text) {
        return buildInputs(encodeHfNoSpecial(text));
    }

    /**
     * {@code tokenizer.encode(text, add_special_tokens=False)}: the text is split on the special-token strings
     * ({@code <sop> <eop> <pad> <unk> [MASK]}), whitespace next to them is stripped (Python's definition of
     * whitespace), each other chunk is encoded on its own (with its own dummy prefix, after {@code remove_space} /
     * {@code do_lower_case} when configured), and special chunks become their ids.
     */
    public int[] encodeHfNoSpecial(String text) {
        if (config.doLowerCase()) text = lowerExceptSpecials(text);
        List<String> chunks = new ArrayList<>();
        List<Boolean> special = new ArrayList<>();
        splitOnSpecials(text, chunks, special);
        for (int i = 0; i < chunks.size(); i++) {
            if (!special.get(i)) continue;
            if (i + 1 < chunks.size() && !chunks.get(i + 1).isEmpty()) {
                chunks.set(i + 1, PythonText.lstrip(chunks.get(i + 1)));
            }
            if (i > 0 && !chunks.get(i - 1).isEmpty()) chunks.set(i - 1, PythonText.rstrip(chunks.get(i - 1)));
        }
        int[] ids = new int[Math.max(16, text.length())];
        int count = 0;
        for (int i = 0; i < chunks.size(); i++) {
            String chunk = chunks.get(i);
            if (chunk.isEmpty()) continue;
            if (special.get(i)) {
                ids = ensure(ids, count + 1);
                ids[count++] = pieceToId(chunk);
                continue;
            }
            // ChatGLMTokenizer._tokenize gives pieces, which convert_tokens_to_ids maps back to ids one by one.
            for (String piece : tokenize(preprocessText(chunk))) {
                ids = ensure(ids, count + 1);
                ids[count++] = pieceToId(piece);
            }
        }
        return Arrays.copyOf(ids, count);
    }

    private static int[] ensure(int[] a, int need) {
        return need <= a.length ? a : Arrays.copyOf(a, Math.max(need, a.length * 2));
    }

    /** {@code ChatGLMTokenizer.preprocess_text}. */
    private String preprocessText(String chunk) {
        String s = config.removeSpace() ? PythonText.collapseWhitespace(chunk) : chunk;
        return config.doLowerCase() ? PythonText.lower(s) : s;
    }

    /** The longest special-token string starting at {@code at}, or null. */
    private String specialAt(String text, int at) {
        String best = null;
        for (String s : specialStrings) {
            if (text.startsWith(s, at) && (best == null || s.length() > best.length())) best = s;
        }
        return best;
    }

    /** The transformers trie split: leftmost (then longest) special-token matches cut the text. */
    private void splitOnSpecials(String text, List<String> chunks, List<Boolean> special) {
        int start = 0;
        int i = 0;
        while (i < text.length()) {
            String s = firstChars.indexOf(text.charAt(i)) >= 0 ? specialAt(text, i) : null;
            if (s == null) {
                i++;
                continue;
            }
            if (i > start) {
                chunks.add(text.substring(start, i));
                special.add(false);
            }
            chunks.add(s);
            special.add(true);
            i += s.length();
            start = i;
        }
        if (start < text.length()) {
            chunks.add(text.substring(start));
            special.add(false);
        }
    }

    /** The lower-casing of transformers' {@code tokenize} with {@code do_lower_case}: special tokens are kept. */
    private String lowerExceptSpecials(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); ) {
            String s = specialAt(text, i);
            if (s != null) {
                out.append(s);
                i += s.length();
                continue;
            }
            int cp = text.codePointAt(i);
            // Python's regex "." does not match "\n"; lower-casing it would change nothing anyway.
            PythonText.appendLower(cp, out);
            i += Character.charCount(cp);
        }
        return out.toString();
    }

    /**
     * {@code tokenizer.decode(ids)} as {@code chat()} uses it: {@code <pad>} ids removed, SentencePiece decoding
     * of the pieces (an image id decodes to the text {@code <image_N>}), whitespace pieces expanded, then
     * transformers' clean-up of spaces before punctuation and contractions. An id outside {@code [0, vocabSize)}
     * is an error (the reference would print a negative one as {@code <image_-1>}).
     */
    public String decodeForChat(int[] ids) {
        PieceDecoder decoder = sp.newPieceDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            if (id != padId) pushForChat(decoder, id, out);
        }
        decoder.finish(out);
        return CleanUpTokenization.apply(MarkupExpander.expandAll(out.toString(), config.maxBlankLength()));
    }

    /** One id of {@link #decodeForChat} into an incremental SentencePiece decoder (pad already removed). */
    void pushForChat(PieceDecoder decoder, int id, StringBuilder out) {
        checkId(id);
        if (id < numImageTokens) sp.pushPiece(decoder, "<image_" + id + ">", out);
        else sp.pushId(decoder, id - numImageTokens, out);
    }

    PieceDecoder newPieceDecoder() {
        return sp.newPieceDecoder();
    }

    /**
     * A decoder for a stream of generated ids: its deltas concatenated equal {@link #decodeForChat} of all ids.
     * Not thread-safe; one per stream.
     */
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this);
    }

    // ---------------------------------------------------------------- vocabulary

    /** {@code num_image_tokens} + the number of SentencePiece pieces. */
    public int vocabSize() {
        return numImageTokens + sp.size();
    }

    /** The token of an id ({@code <image_N>} for image ids). */
    public String idToPiece(int id) {
        checkId(id);
        if (id < numImageTokens) return "<image_" + id + ">";
        return sp.idToPiece(id - numImageTokens);
    }

    /** The id of a token: {@code <image_N>} → N, a piece → its id, anything else → the unknown id. */
    public int pieceToId(String piece) {
        if (piece.startsWith("<image_") && piece.endsWith(">") && piece.length() > 8) {
            String digits = piece.substring(7, piece.length() - 1);
            if (digits.chars().allMatch(c -> c >= '0' && c <= '9') && digits.length() <= 9) {
                return Integer.parseInt(digits);
            }
        }
        return sp.pieceToId(piece) + numImageTokens;
    }

    private void checkId(int id) {
        if (id < 0 || id >= vocabSize()) {
            throw new ChatGlmException("token id " + id + " is out of range: the tokenizer " + sp.model().source()
                    + " has ids 0 to " + (vocabSize() - 1));
        }
    }

    /** The id of {@code [gMASK]}. */
    public int gmaskId() {
        return gmaskId;
    }

    /** The id of {@code [MASK]}. */
    public int maskId() {
        return maskId;
    }

    /** {@code <sop>}, the start of the answer. */
    public int bosId() {
        return bosId;
    }

    /** {@code <eop>}, the end of the answer. */
    public int eosId() {
        return eosId;
    }

    /** The id of {@code <pad>}. */
    public int padId() {
        return padId;
    }

    /** The id of {@code <unk>}. */
    public int unkId() {
        return unkId;
    }

    /** How many image placeholder ids precede the text pieces ({@code num_image_tokens}). */
    public int numImageTokens() {
        return numImageTokens;
    }

    /** The settings read from {@code tokenizer_config.json}. */
    public TokenizerConfig config() {
        return config;
    }

    /** The SentencePiece model underneath. */
    public SentencePieceProcessor sentencePiece() {
        return sp;
    }
}
