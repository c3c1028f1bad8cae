package org.chatglm4j.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The settings of {@code tokenizer_config.json} that ChatGLM's tokenizer uses, with the defaults of the reference
 * {@code ChatGLMTokenizer} class for absent keys.
 *
 * @param bosToken        start of the answer, {@code <sop>}
 * @param eosToken        end of the answer, {@code <eop>}
 * @param endToken        {@code </s>} (kept for completeness; ChatGLM does not use it)
 * @param maskToken       {@code [MASK]}
 * @param gmaskToken      {@code [gMASK]}
 * @param padToken        {@code <pad>}
 * @param unkToken        {@code <unk>}
 * @param removeSpace     HF-level encoding collapses whitespace runs to one space and strips the ends
 * @param doLowerCase     HF-level encoding lower-cases the text (special tokens excepted)
 * @param numImageTokens  ids below this are image tokens; text ids are SentencePiece ids plus this. The class
 *                        default is 20000; the released chatglm-6b config says 0.
 * @param maxBlankLength  longest space run with its own {@code <|blank_k|>} piece (80; a constructor argument of
 *                        the reference {@code SPTokenizer}, not a config key)
 */
public record TokenizerConfig(String bosToken, String eosToken, String endToken, String maskToken, String gmaskToken,
                              String padToken, String unkToken, boolean removeSpace, boolean doLowerCase,
                              int numImageTokens, int maxBlankLength) {
    public static final String FILE_NAME = "tokenizer_config.json";
    /** No real config is near this; protects against reading a wrong huge file. */
    static final long MAX_FILE_BYTES = 16L << 20;
    /** Keeps {@code numImageTokens + pieces} far from int overflow. */
    static final int MAX_IMAGE_TOKENS = 1 << 24;

    /** Checks the fields. */
    public TokenizerConfig {
        for (String t : new String[]{bosToken, eosToken, endToken, maskToken, gmaskToken, padToken, unkToken}) {
            if (t == null || t.isEmpty()) throw new IllegalArgumentException("special token strings must be non-empty");
        }
        if (numImageTokens < 0 || numImageTokens > MAX_IMAGE_TOKENS) {
            throw new IllegalArgumentException("numImageTokens out of range: " + numImageTokens);
        }
        if (maxBlankLength < 2) throw new IllegalArgumentException("maxBlankLength must be at least 2");
    }

    /** The reference class defaults ({@code num_image_tokens} = 20000). */
    public static TokenizerConfig defaults() {
        return new TokenizerConfig("<sop>", "<eop>", "</s>", "[MASK]", "[gMASK]", "<pad>", "<unk>", false, false,
                20000, 80);
    }

    /** The same settings with another {@code num_image_tokens}. */
    public TokenizerConfig withNumImageTokens(int n) {
        return new TokenizerConfig(bosToken, eosToken, endToken, maskToken, gmaskToken, padToken, unkToken,
                removeSpace, doLowerCase, n, maxBlankLength);
    }

    /** Reads a {@code tokenizer_config.json}; absent keys keep {@link #defaults()}. */
    public static TokenizerConfig read(Path file) {
        String source = file.toString();
        JsonNode root = readObject(file);
        TokenizerConfig d = defaults();
        try {
            int images = intValue(root, "num_image_tokens", d.numImageTokens(), source);
            if (images < 0 || images > MAX_IMAGE_TOKENS) {
                throw new ChatGlmException(source + ": num_image_tokens " + images + " is out of range");
            }
            return new TokenizerConfig(
                    token(root, "bos_token", d.bosToken(), source),
                    token(root, "eos_token", d.eosToken(), source),
                    token(root, "end_token", d.endToken(), source),
                    token(root, "mask_token", d.maskToken(), source),
                    token(root, "gmask_token", d.gmaskToken(), source),
                    token(root, "pad_token", d.padToken(), source),
                    token(root, "unk_token", d.unkToken(), source),
                    bool(root, "remove_space", d.removeSpace(), source),
                    bool(root, "do_lower_case", d.doLowerCase(), source),
                    images, d.maxBlankLength());
        } catch (IllegalArgumentException e) {
            throw new ChatGlmException(source + ": " + e.getMessage(), e);
        }
    }

    /** A {@code tokenizer_config.json} as a JSON object (size-limited; a clear error for anything else). */
    static JsonNode readObject(Path file) {
        String source = file.toString();
        JsonNode root;
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new ChatGlmException(source + ": too large for a tokenizer config");
            }
            root = new ObjectMapper().readTree(file.toFile());
        } catch (NoSuchFileException e) {
            throw new ChatGlmException(source + ": no such file", e);
        } catch (JacksonException e) {
            throw new ChatGlmException(source + ": invalid JSON: " + firstLine(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new ChatGlmException(source + ": cannot read: " + e, e);
        }
        if (root == null || !root.isObject()) throw new ChatGlmException(source + ": expected a JSON object");
        return root;
    }

    private static String firstLine(String s) {
        if (s == null) return "unreadable";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** A special token: a string, or an HF AddedToken object {@code {"content": ...}}. */
    private static String token(JsonNode root, String key, String dflt, String source) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return dflt;
        if (v.isObject() && v.get("content") != null) v = v.get("content");
        if (!v.isTextual() || v.asText().isEmpty()) {
            throw new ChatGlmException(source + ": " + key + " must be a non-empty string");
        }
        return v.asText();
    }

    private static boolean bool(JsonNode root, String key, boolean dflt, String source) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw new ChatGlmException(source + ": " + key + " must be true or false");
        return v.asBoolean();
    }

    private static int intValue(JsonNode root, String key, int dflt, String source) {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new ChatGlmException(source + ": " + key + " must be an integer");
        }
        return v.asInt();
    }
}
