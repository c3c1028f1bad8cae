package org.chatglm4j.tokenizer;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Loading from checkpoint folders, configuration, image-token offsets and the HF-level options. */
class ChatGlmTokenizerTest {
    @TempDir
    Path tmp;

    private Path folderWith(String tokenizerName, String configJson) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("ckpt"));
        Files.copy(Fixtures.path(tokenizerName + "/ice_text.model"), dir.resolve("ice_text.model"));
        if (configJson != null) Files.writeString(dir.resolve("tokenizer_config.json"), configJson);
        return dir;
    }

    @ParameterizedTest
    @CsvSource({"model_a/checkpoint, tokenizer_unigram", "model_b/checkpoint, tokenizer_bpe"})
    void checkpointFoldersHoldTheSameTokenizers(String checkpoint, String tokenizerName) {
        ChatGlmTokenizer fromCheckpoint = ChatGlmTokenizer.load(Fixtures.path(checkpoint));
        ChatGlmTokenizer reference = TokenizerGoldens.tokenizer(tokenizerName);
        assertThat(fromCheckpoint.numImageTokens()).isZero();
        assertThat(fromCheckpoint.vocabSize()).isEqualTo(reference.vocabSize());
        assertThat(IntStream.range(0, fromCheckpoint.vocabSize()).mapToObj(fromCheckpoint::idToPiece).toList())
                .isEqualTo(IntStream.range(0, reference.vocabSize()).mapToObj(reference::idToPiece).toList());
        assertThat(fromCheckpoint.gmaskId()).isEqualTo(reference.gmaskId());
        for (var c : TokenizerGoldens.golden(tokenizerName).get("cases")) {
            String text = c.get("text").asText();
            assertThat(fromCheckpoint.encodeForModel(text)).as(text).containsExactly(reference.encodeForModel(text));
        }
    }

    @Test
    void theModelFileItselfCanBeGiven() {
        ChatGlmTokenizer tok = ChatGlmTokenizer.load(Fixtures.path("tokenizer_unigram/ice_text.model"));
        assertThat(tok.numImageTokens()).isZero(); // the config beside it was read
        assertThat(tok.encode("你好")).containsExactly(5, 609);
    }

    @Test
    void withoutConfigTheClassDefaultsApplyIncludingImageTokens() throws IOException {
        ChatGlmTokenizer tok = ChatGlmTokenizer.load(folderWith("tokenizer_unigram", null));
        assertImageOffset(tok);
    }

    @Test
    void configWithoutNumImageTokensDefaultsTo20000() throws IOException {
        ChatGlmTokenizer tok = ChatGlmTokenizer.load(folderWith("tokenizer_unigram", "{\"remove_space\": false}"));
        assertImageOffset(tok);
    }

    private static void assertImageOffset(ChatGlmTokenizer tok) {
        ChatGlmTokenizer plain = TokenizerGoldens.tokenizer("tokenizer_unigram");
        assertThat(tok.numImageTokens()).isEqualTo(20000);
        assertThat(tok.vocabSize()).isEqualTo(20000 + 1644);
        assertThat(tok.gmaskId()).isEqualTo(20000 + 1301);
        assertThat(tok.bosId()).isEqualTo(20000 + 1304);
        assertThat(tok.padId()).isEqualTo(20003);
        int[] ids = tok.encode("你好 world");
        assertThat(ids).containsExactly(IntStream.of(plain.encode("你好 world")).map(i -> i + 20000).toArray());
        assertThat(tok.idToPiece(5)).isEqualTo("<image_5>");
        assertThat(tok.pieceToId("<image_7>")).isEqualTo(7);
        assertThat(tok.idToPiece(20000 + 609)).isEqualTo("你好");
        // SPTokenizer.decode drops image ids; the HF decode prints them as their token text
        int[] withImage = {20609, 5, 20003, 20609};
        assertThat(tok.decode(withImage)).isEqualTo("你好你好");
        assertThat(tok.decodeForChat(withImage)).isEqualTo("你好<image_5>你好");
        StringBuilder s = new StringBuilder();
        StreamingDecoder dec = tok.streamingDecoder();
        for (int id : withImage) s.append(dec.push(id));
        assertThat(s.append(dec.flush()).toString()).isEqualTo("你好<image_5>你好");
    }

    @Test
    void missingModelFile() {
        assertThatThrownBy(() -> ChatGlmTokenizer.load(tmp))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageContaining(tmp.resolve("ice_text.model").toString())
                .hasMessageContaining("no such file");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{                                   | invalid JSON",
            "[1, 2]                              | expected a JSON object",
            "{\"num_image_tokens\": \"many\"}    | num_image_tokens must be an integer",
            "{\"num_image_tokens\": 1.5}         | num_image_tokens must be an integer",
            "{\"num_image_tokens\": -1}          | num_image_tokens -1 is out of range",
            "{\"num_image_tokens\": 99999999999} | num_image_tokens must be an integer",
            "{\"bos_token\": 5}                  | bos_token must be a non-empty string",
            "{\"pad_token\": \"\"}               | pad_token must be a non-empty string",
            "{\"remove_space\": \"yes\"}         | remove_space must be true or false",
            "{\"gmask_token\": \"[NOPE]\"}       | no piece [NOPE]",
    })
    void invalidConfig(String json, String problem) throws IOException {
        Path dir = folderWith("tokenizer_unigram", json);
        assertThatThrownBy(() -> ChatGlmTokenizer.load(dir))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageContaining(problem)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n")
                        .containsAnyOf("tokenizer_config.json", "ice_text.model"));
    }

    @Test
    void configReadsAddedTokenObjectsAndKeys() throws IOException {
        Path dir = folderWith("tokenizer_unigram",
                "{\"eos_token\": {\"content\": \"<eop>\", \"__type\": \"AddedToken\"}, \"num_image_tokens\": 0,"
                        + " \"do_lower_case\": true, \"remove_space\": true}");
        TokenizerConfig cfg = TokenizerConfig.read(dir.resolve("tokenizer_config.json"));
        assertThat(cfg.eosToken()).isEqualTo("<eop>");
        assertThat(cfg.doLowerCase()).isTrue();
        assertThat(cfg.removeSpace()).isTrue();
        assertThat(cfg.numImageTokens()).isZero();
        assertThat(cfg.maxBlankLength()).isEqualTo(80);
    }

    @Test
    void idsOutOfRange() {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer("tokenizer_unigram");
        int v = tok.vocabSize();
        assertThatThrownBy(() -> tok.decode(new int[]{5, v})).isInstanceOf(ChatGlmException.class)
                .hasMessageContaining("token id " + v + " is out of range").hasMessageContaining("ice_text.model")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
        assertThatThrownBy(() -> tok.decodeForChat(new int[]{v})).isInstanceOf(ChatGlmException.class);
        assertThatThrownBy(() -> tok.idToPiece(v)).isInstanceOf(ChatGlmException.class);
        assertThatThrownBy(() -> tok.streamingDecoder().push(v)).isInstanceOf(ChatGlmException.class);
        // negative ids are rejected too (the reference would drop them in decode, print "<image_-1>" in HF decode)
        assertThatThrownBy(() -> tok.decode(new int[]{-1, 609})).isInstanceOf(ChatGlmException.class)
                .hasMessageContaining("token id -1 is out of range");
        assertThatThrownBy(() -> tok.decodeForChat(new int[]{-1})).isInstanceOf(ChatGlmException.class);
        assertThatThrownBy(() -> tok.idToPiece(-1)).isInstanceOf(ChatGlmException.class);
    }

    @Test
    void pairInputsForPTuning() {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer("tokenizer_unigram");
        assertThat(tok.buildInputs(new int[]{7, 8}, new int[]{9})).containsExactly(7, 8, 1301, 1304, 9, 1305);
        assertThat(tok.buildInputs(new int[0], new int[0])).containsExactly(1301, 1304, 1305);
        assertThat(tok.buildInputs(new int[]{7})).containsExactly(7, 1301, 1304);
    }

    @Test
    void hfLevelSplitsOnSpecialStringsAndStripsAroundThem() {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer("tokenizer_unigram");
        int[] expected = IntStream.concat(IntStream.concat(IntStream.of(tok.encode("a")), IntStream.of(tok.eosId())),
                IntStream.of(tok.encode("b  "))).toArray();
        // Python strips all Unicode whitespace next to a special token, here NBSP and ideographic space
        assertThat(tok.encodeHfNoSpecial("a \u00a0<eop>\u3000 b  ")).containsExactly(expected);
        // [gMASK] is not one of the split tokens; [MASK] is
        assertThat(tok.encodeHfNoSpecial("[gMASK]")).containsExactly(tok.encode("[gMASK]"));
        assertThat(tok.encodeHfNoSpecial("[MASK]")).containsExactly(tok.maskId());
        assertThat(tok.encodeHfNoSpecial("<sop><eop>")).containsExactly(tok.bosId(), tok.eosId());
        assertThat(tok.encodeHfNoSpecial("")).isEmpty();
        assertThat(tok.encodeForModel("")).containsExactly(tok.gmaskId(), tok.bosId());
    }

    @Test
    void removeSpaceAndLowerCaseOptions() throws IOException {
        Path dir = folderWith("tokenizer_unigram", "{\"num_image_tokens\": 0, \"do_lower_case\": true, \"remove_space\": true}");
        ChatGlmTokenizer tok = ChatGlmTokenizer.load(dir);
        ChatGlmTokenizer plain = TokenizerGoldens.tokenizer("tokenizer_unigram");
        assertThat(tok.encodeHfNoSpecial("  Hello\t\u3000 WORLD  ")).containsExactly(plain.encode("hello world"));
        // lower-casing happens before the special-token split, so "<EOP>" becomes the special token (as in 4.27)
        assertThat(tok.encodeHfNoSpecial("A<EOP>B")).containsExactly(
                IntStream.concat(IntStream.concat(IntStream.of(plain.encode("a")), IntStream.of(plain.eosId())),
                        IntStream.of(plain.encode("b"))).toArray());
        // SPTokenizer-level encoding is not affected by these options
        assertThat(tok.encode("A  B")).containsExactly(plain.encode("A  B"));
    }

    @Test
    void longSpaceRunsUseRepeatedBlankPieces() {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer("tokenizer_unigram");
        assertThat(tok.preprocess("a" + " ".repeat(100) + "b")).isEqualTo("a<|blank_80|><|blank_20|>b");
        assertThat(tok.preprocess("a" + " ".repeat(81) + "b")).isEqualTo("a<|blank_80|> b");
        assertThat(tok.preprocess("a" + " ".repeat(160) + "b")).isEqualTo("a<|blank_80|><|blank_80|>b");
        assertThat(tok.preprocess("x\n\ty")).isEqualTo("x<n><|tab|>y");
        String text = "a" + " ".repeat(243) + "b";
        assertThat(tok.decode(tok.encode(text))).isEqualTo(text);
    }
}
