package org.chatglm4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * Every case of {@code tokenizer_unigram/tokenizer.json} and {@code tokenizer_bpe/tokenizer.json}, field by field,
 * against the reference SPTokenizer / ChatGLMTokenizer outputs.
 */
class ChatGlmTokenizerGoldenTest {

    @ParameterizedTest(name = "{0} encode #{1} {2}")
    @MethodSource("org.chatglm4j.tokenizer.TokenizerGoldens#encodeCases")
    void encodeCase(String tokenizerName, int index, String label, JsonNode c) {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer(tokenizerName);
        String text = c.get("text").asText();
        String what = tokenizerName + " case " + index + " (" + label + ")";
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(tok.preprocess(text)).as(what + " preprocessed").isEqualTo(c.get("preprocessed").asText());
        soft.assertThat(tok.encode(text)).as(what + " ids").containsExactly(ints(c.get("ids")));
        soft.assertThat(tok.tokenize(text)).as(what + " pieces").containsExactlyElementsOf(strings(c.get("pieces")));
        soft.assertThat(tok.buildInputs(tok.encode(text))).as(what + " input_ids").containsExactly(ints(c.get("input_ids")));
        JsonNode hf = c.has("hf_input_ids") ? c.get("hf_input_ids") : c.get("input_ids");
        soft.assertThat(tok.encodeForModel(text)).as(what + (c.has("hf_input_ids") ? " hf_input_ids" : " hf-level input_ids"))
                .containsExactly(ints(hf));
        soft.assertThat(tok.encode(text, false)).as(what + " ids_no_dummy_prefix")
                .containsExactly(ints(c.get("ids_no_dummy_prefix")));
        int[] ids = ints(c.get("ids"));
        soft.assertThat(tok.decode(ids)).as(what + " decoded").isEqualTo(c.get("decoded").asText());
        soft.assertThat(tok.decodeForChat(ids)).as(what + " hf_decoded").isEqualTo(c.get("hf_decoded").asText());
        soft.assertAll();
    }

    @ParameterizedTest(name = "{0} decode #{1} {2}")
    @MethodSource("org.chatglm4j.tokenizer.TokenizerGoldens#decodeCases")
    void decodeCase(String tokenizerName, int index, String label, JsonNode c) {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer(tokenizerName);
        String what = tokenizerName + " decode case " + index + " (" + label + ")";
        int[] ids = ints(c.get("ids"));
        List<String> pieces = new ArrayList<>();
        for (int id : ids) pieces.add(tok.idToPiece(id));
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(pieces).as(what + " pieces").containsExactlyElementsOf(strings(c.get("pieces")));
        soft.assertThat(tok.decode(ids)).as(what + " decoded").isEqualTo(c.get("decoded").asText());
        soft.assertThat(tok.decodeForChat(ids)).as(what + " hf_decoded").isEqualTo(c.get("hf_decoded").asText());
        soft.assertAll();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tokenizer_unigram", "tokenizer_bpe"})
    void vocabularyAndSpecialIds(String tokenizerName) {
        ChatGlmTokenizer tok = TokenizerGoldens.tokenizer(tokenizerName);
        JsonNode g = TokenizerGoldens.golden(tokenizerName);
        JsonNode s = g.get("special_ids");
        assertThat(tok.numImageTokens()).isZero();
        assertThat(tok.vocabSize()).isEqualTo(g.get("num_pieces").asInt()).isEqualTo(s.get("vocab_size").asInt());
        assertThat(tok.unkId()).isEqualTo(s.get("unk_token_id").asInt());
        assertThat(tok.padId()).isEqualTo(s.get("pad_token_id").asInt());
        assertThat(tok.maskId()).isEqualTo(s.get("mask_token_id").asInt());
        assertThat(tok.gmaskId()).isEqualTo(s.get("gmask_token_id").asInt());
        assertThat(tok.bosId()).isEqualTo(s.get("bos_token_id(<sop>)").asInt());
        assertThat(tok.eosId()).isEqualTo(s.get("eos_token_id(<eop>)").asInt());
        assertThat(tok.pieceToId("<n>")).isEqualTo(s.get("newline_piece_id(<n>)").asInt());
        assertThat(tok.pieceToId("<|tab|>")).isEqualTo(s.get("tab_token_id").asInt());
        assertThat(tok.pieceToId("<|blank_2|>")).isEqualTo(s.get("blank_2_id").asInt());
        assertThat(tok.pieceToId("<|blank_80|>")).isEqualTo(s.get("blank_80_id").asInt());
        assertThat(tok.pieceToId("<0x00>")).isEqualTo(s.get("byte_0x00_id").asInt());
        assertThat(tok.pieceToId("<0xFF>")).isEqualTo(s.get("byte_0xFF_id").asInt());
        assertThat(tok.pieceToId("no such piece")).isEqualTo(tok.unkId());
        assertThat(tok.idToPiece(tok.gmaskId())).isEqualTo("[gMASK]");
        assertThat(tok.sentencePiece().model().algorithm().name())
                .isEqualTo(tokenizerName.endsWith("bpe") ? "BPE" : "UNIGRAM");
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
