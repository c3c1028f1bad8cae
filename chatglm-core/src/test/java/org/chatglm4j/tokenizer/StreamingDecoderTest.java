package org.chatglm4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * The streaming decoder against the goldens (its deltas must concatenate to {@code hf_decoded}) and against
 * {@link ChatGlmTokenizer#decodeForChat} on random id sequences, plus its hold-back guarantees.
 */
class StreamingDecoderTest {

    /** Streams ids one by one; checks every delta is whole Unicode text. */
    static String stream(ChatGlmTokenizer tok, int[] ids, List<String> deltas) {
        StreamingDecoder dec = tok.streamingDecoder();
        StringBuilder all = new StringBuilder();
        for (int id : ids) {
            String d = dec.push(id);
            deltas.add(d);
            all.append(d);
        }
        String rest = dec.flush();
        deltas.add(rest);
        all.append(rest);
        for (String d : deltas) {
            assertThat(isWellFormed(d)).as("delta %s is well-formed UTF-16", TokenizerGoldens.shorten(d)).isTrue();
        }
        return all.toString();
    }

    static boolean isWellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) return false;
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    @ParameterizedTest(name = "{0} encode #{1} {2}")
    @MethodSource("org.chatglm4j.tokenizer.TokenizerGoldens#encodeCases")
    void streamsEncodeCaseIds(String tokenizerName, int index, String label, JsonNode c) {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer(tokenizerName);
        String streamed = stream(tok, ints(c.get("ids")), new ArrayList<>());
        assertThat(streamed).as("%s case %d (%s) streamed", tokenizerName, index, label)
                .isEqualTo(c.get("hf_decoded").asText());
    }

    @ParameterizedTest(name = "{0} decode #{1} {2}")
    @MethodSource("org.chatglm4j.tokenizer.TokenizerGoldens#decodeCases")
    void streamsDecodeCaseIds(String tokenizerName, int index, String label, JsonNode c) {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer(tokenizerName);
        String streamed = stream(tok, ints(c.get("ids")), new ArrayList<>());
        assertThat(streamed).as("%s decode case %d (%s) streamed", tokenizerName, index, label)
                .isEqualTo(c.get("hf_decoded").asText());
    }

    @Test
    void holdsBackBytePiecesUntilTheCharacterIsComplete() {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer("tokenizer_unigram");
        StreamingDecoder dec = tok.streamingDecoder();
        // 😀 = F0 9F 98 80
        assertThat(dec.push(tok.pieceToId("<0xF0>"))).isEmpty();
        assertThat(dec.push(tok.pieceToId("<0x9F>"))).isEmpty();
        assertThat(dec.push(tok.pieceToId("<0x98>"))).isEmpty();
        assertThat(dec.push(tok.pieceToId("<0x80>"))).isEqualTo("😀");
        assertThat(dec.flush()).isEmpty();
    }

    @Test
    void emitsReplacementCharactersOnceBytesAreProvenInvalid() {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer("tokenizer_unigram");
        StreamingDecoder dec = tok.streamingDecoder();
        assertThat(dec.push(tok.pieceToId("<0xE4>"))).isEmpty();           // may start 你 (E4 BD A0)
        assertThat(dec.push(tok.pieceToId("<0x41>"))).isEqualTo("\uFFFDA"); // not a trail byte: E4 is invalid
        assertThat(dec.push(tok.pieceToId("<0xC0>"))).isEqualTo("\uFFFD");  // C0 never starts a valid character
        assertThat(dec.push(tok.pieceToId("<0xE0>"))).isEmpty();
        assertThat(dec.push(tok.pieceToId("<0x80>"))).isEqualTo("\uFFFD\uFFFD"); // E0 80 is overlong
        assertThat(dec.push(tok.pieceToId("<0xED>"))).isEmpty();
        assertThat(dec.push(tok.pieceToId("<0xA0>"))).isEqualTo("\uFFFD\uFFFD"); // ED A0 is a surrogate
        assertThat(dec.push(tok.pieceToId("<0xE4>"))).isEmpty();
        assertThat(dec.push(tok.pieceToId("<0xBD>"))).isEmpty();
        // a non-byte piece ends the byte run: the incomplete E4 BD become two U+FFFD, as in decode()
        assertThat(dec.push(tok.pieceToId("<n>"))).isEqualTo("\uFFFD\uFFFD\n");
        assertThat(dec.push(tok.pieceToId("<0xE4>"))).isEmpty();
        assertThat(dec.flush()).isEqualTo("\uFFFD");
    }

    @Test
    void holdsBackWhatTheCleanUpOrTheMarkupMayStillChange() {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer("tokenizer_unigram");
        int[] ids = tok.encode("Hello world !");
        StringBuilder streamed = new StringBuilder();
        StreamingDecoder dec = tok.streamingDecoder();
        for (int id : ids) {
            String delta = dec.push(id);
            // " !" becomes "!": the space may never be emitted ahead of the "!" it could merge with
            assertThat(streamed.append(delta).toString()).doesNotEndWith(" ");
        }
        streamed.append(dec.flush());
        assertThat(streamed.toString()).isEqualTo(tok.decodeForChat(ids)).isEqualTo("Hello world!");
    }

    @Test
    void canBeReusedAfterFlush() {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer("tokenizer_bpe");
        StreamingDecoder dec = tok.streamingDecoder();
        int[] a = tok.encode("  first  answer");
        int[] b = tok.encode("second");
        List<String> ignored = new ArrayList<>();
        for (int[] ids : new int[][]{a, b}) {
            StringBuilder s = new StringBuilder();
            for (int id : ids) s.append(dec.push(id));
            s.append(dec.flush());
            assertThat(s.toString()).isEqualTo(tok.decodeForChat(ids));
            ignored.add(s.toString());
        }
        assertThat(ignored).containsExactly("  first  answer", "second"); // leading spaces: a <|blank_2|> piece
    }

    /** Random id sequences, biased to the tricky ids (bytes, whitespace pieces, control, pad, "▁", punctuation). */
    @ParameterizedTest
    @ValueSource(strings = {"tokenizer_unigram", "tokenizer_bpe"})
    void equalsDecodeForChatOnRandomSequences(String tokenizerName) {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer(tokenizerName);
        List<Integer> tricky = new ArrayList<>();
        for (String p : new String[]{"<0xE4>", "<0xBD>", "<0xA0>", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "<0xC0>",
                "<0x20>", "<0x3C>", "<0x3E>", "<0x2E>", "<n>", "<|tab|>", "<|blank_2|>", "▁", "<", ">", "<unk>",
                "<pad>", "<sop>", "<eop>", "[gMASK]", "n", "'", "s", "."}) {
            int id = tok.pieceToId(p);
            if (id != tok.unkId() || p.equals("<unk>")) tricky.add(id);
        }
        // multi-character pieces that contain markup or clean-up fragments
        for (int id = 0; id < tok.vocabSize(); id++) {
            String p = tok.idToPiece(id);
            if (p.contains("<") || p.contains("|") || p.contains("'") || p.contains(".") || p.contains(",")) tricky.add(id);
        }
        Random rnd = new Random(42);
        for (int round = 0; round < 3000; round++) {
            int[] ids = new int[rnd.nextInt(25)];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = rnd.nextInt(3) == 0 ? rnd.nextInt(tok.vocabSize()) : tricky.get(rnd.nextInt(tricky.size()));
            }
            String streamed = stream(tok, ids, new ArrayList<>());
            assertThat(streamed).as("round %d ids %s", round, java.util.Arrays.toString(ids))
                    .isEqualTo(tok.decodeForChat(ids));
        }
    }

    @Test
    void costIsLinearInTheNumberOfIds() {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer("tokenizer_unigram");
        int[] unit = tok.encode("你好，ChatGLM! It's a test.\n\tcode  x = 1;  😀");
        int[] ids = new int[200_000];
        for (int i = 0; i < ids.length; i++) ids[i] = unit[i % unit.length];
        StreamingDecoder dec = tok.streamingDecoder();
        long t0 = System.nanoTime();
        StringBuilder s = new StringBuilder();
        for (int id : ids) s.append(dec.push(id));
        s.append(dec.flush());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(s.toString()).isEqualTo(tok.decodeForChat(ids));
        // A decoder that re-decoded the sequence per token would need minutes here.
        assertThat(ms).as("streaming 200k ids took %d ms", ms).isLessThan(10_000);
    }
}
