package org.chatglm4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.assertj.core.api.SoftAssertions;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * Every case of {@code glm2/tokenizer/tokenizer.json} and {@code glm3/tokenizer/tokenizer.json} (copied from
 * shared/fixtures) against the reference ChatGLM2-6B / ChatGLM3-6B {@code tokenization_chatglm.py}.
 */
class Glm2TokenizerGoldenTest {
    private static final Map<String, Glm2Tokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    static Glm2Tokenizer tokenizer(String family, boolean encodeSpecial) {
        return TOKENIZERS.computeIfAbsent(family + encodeSpecial, k -> new Glm2Tokenizer(
                SentencePieceProcessor.load(Fixtures.path(family + "/tokenizer/tokenizer.model")),
                family.equals("glm3"), encodeSpecial));
    }

    static JsonNode golden(String family) {
        return Fixtures.json(family + "/tokenizer/tokenizer.json");
    }

    static Stream<Arguments> cases(String field) {
        List<Arguments> out = new ArrayList<>();
        for (String family : List.of("glm2", "glm3")) {
            JsonNode cases = golden(family).get(field);
            for (int i = 0; i < cases.size(); i++) {
                JsonNode c = cases.get(i);
                String label = c.has("text") ? c.get("category").asText() + " " + TokenizerGoldens.shorten(c.get("text").asText())
                        : "ids " + TokenizerGoldens.shorten(c.get("ids").toString());
                out.add(Arguments.of(family, i, label, c));
            }
        }
        return out.stream();
    }

    static Stream<Arguments> encodeCases() {
        return cases("cases");
    }

    static Stream<Arguments> decodeCases() {
        return cases("decode_cases");
    }

    @ParameterizedTest(name = "{0} encode #{1} {2}")
    @MethodSource("encodeCases")
    void encodeCase(String family, int index, String label, JsonNode c) {
        Glm2Tokenizer tok = tokenizer(family, false);
        String text = c.get("text").asText();
        String what = family + " case " + index + " (" + label + ")";
        int[] ids = ints(c.get("ids"));
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(tok.tokenize(text)).as(what + " pieces").containsExactlyElementsOf(strings(c.get("pieces")));
        soft.assertThat(tok.encode(text)).as(what + " ids").containsExactly(ids);
        soft.assertThat(tok.encodeForModel(text)).as(what + " encode(text)")
                .startsWith(tok.gmaskId(), tok.sopId()).endsWith(ids);
        soft.assertThat(tok.decode(ids)).as(what + " decoded").isEqualTo(c.get("decoded").asText());
        if (c.has("sp_decoded")) {
            soft.assertThat(tok.spDecode(ids)).as(what + " sp_decoded").isEqualTo(c.get("sp_decoded").asText());
        }
        if (c.has("pieces_encode_special_tokens")) {
            Glm2Tokenizer special = tokenizer(family, true);
            soft.assertThat(special.tokenize(text)).as(what + " pieces with encode_special_tokens")
                    .containsExactlyElementsOf(strings(c.get("pieces_encode_special_tokens")));
            soft.assertThat(special.encode(text)).as(what + " ids with encode_special_tokens")
                    .containsExactly(ints(c.get("ids_encode_special_tokens")));
        }
        soft.assertAll();
    }

    @ParameterizedTest(name = "{0} decode #{1} {2}")
    @MethodSource("decodeCases")
    void decodeCase(String family, int index, String label, JsonNode c) {
        Glm2Tokenizer tok = tokenizer(family, false);
        String what = family + " decode case " + index + " (" + label + ")";
        int[] ids = ints(c.get("ids"));
        List<String> tokens = new ArrayList<>();
        for (int id : ids) tokens.add(tok.idToToken(id));
        SoftAssertions soft = new SoftAssertions();
        soft.assertThat(tokens).as(what + " tokens").containsExactlyElementsOf(strings(c.get("tokens")));
        soft.assertThat(tok.decode(ids)).as(what + " decoded").isEqualTo(c.get("decoded").asText());
        if (c.has("sp_decoded")) {
            soft.assertThat(tok.spDecode(ids)).as(what + " sp_decoded").isEqualTo(c.get("sp_decoded").asText());
        } else {
            soft.assertThatThrownBy(() -> tok.spDecode(ids)).as(what + " sp_decode_error")
                    .isInstanceOf(ChatGlmException.class);
        }
        StreamingDecoder stream = tok.streamingDecoder();
        StringBuilder streamed = new StringBuilder();
        for (int id : ids) streamed.append(stream.push(id));
        streamed.append(stream.flush());
        soft.assertThat(streamed.toString()).as(what + " streamed").isEqualTo(c.get("decoded").asText());
        soft.assertAll();
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm2", "glm3"})
    void outOfRangeDecoding(String family) {
        Glm2Tokenizer tok = tokenizer(family, false);
        for (JsonNode c : golden(family).get("decode_out_of_range_cases")) {
            int[] ids = ints(c.get("ids"));
            if (c.has("error")) {
                assertThatThrownBy(() -> tok.decode(ids)).isInstanceOf(ChatGlmException.class)
                        .hasMessageContaining("out of range");
            } else {
                assertThat(tok.decode(ids)).isEqualTo(c.get("decoded").asText());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm2", "glm3"})
    void specialIds(String family) {
        Glm2Tokenizer tok = tokenizer(family, false);
        JsonNode s = golden(family).get("special_ids");
        assertThat(tok.sentencePieceSize()).isEqualTo(s.get("sp_vocab_size").asInt());
        assertThat(tok.vocabSize()).isEqualTo(s.get("n_words (tokenizer.vocab_size)").asInt());
        assertThat(tok.padId()).isEqualTo(s.get("pad_id (= unk_id)").asInt());
        assertThat(tok.eosId()).isEqualTo(s.get("eos_id (</s>)").asInt());
        for (String name : tok.specialTokens()) {
            assertThat(tok.specialId(name)).as(name).isEqualTo(s.get(name).asInt());
            assertThat(tok.tokenToId(name)).as(name).isEqualTo(s.get(name).asInt());
        }
        assertThat(tok.gmaskId()).isEqualTo(s.get("[gMASK]").asInt());
        assertThat(tok.sopId()).isEqualTo(s.get("sop").asInt());
        assertThat(tok.tokenToId("▁")).isEqualTo(s.get("space_piece_id (▁)").asInt());
        assertThat(tok.specialTokens()).hasSize(family.equals("glm3") ? 9 : 5);
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm2", "glm3"})
    void promptsAndPadding(String family) {
        Glm2Tokenizer tok = tokenizer(family, false);
        for (JsonNode c : golden(family).get("prompt_cases")) {
            if (!c.has("prompt")) continue;   // build_single_message / build_chat_input: chat formats
            assertThat(tok.encodeForModel(c.get("prompt").asText())).as(c.get("prompt").asText())
                    .containsExactly(ints(c.get("input_ids")));
        }
        for (JsonNode c : golden(family).get("padding_cases")) {
            List<int[]> rows = new ArrayList<>();
            for (JsonNode t : c.get("texts")) rows.add(tok.encodeForModel(t.asText()));
            JsonNode kw = c.get("kwargs");
            PaddedIds p;
            if (kw.get("padding").asText().equals("max_length")) {
                p = PaddedIds.left(rows, kw.get("max_length").asInt(), tok.padId());
            } else {
                p = tok.padLeft(rows, kw.has("pad_to_multiple_of") ? kw.get("pad_to_multiple_of").asInt() : 0);
            }
            for (int r = 0; r < rows.size(); r++) {
                assertThat(p.inputIds()[r]).containsExactly(ints(c.get("input_ids").get(r)));
                assertThat(p.attentionMask()[r]).containsExactly(ints(c.get("attention_mask").get(r)));
                assertThat(p.positionIds()[r]).containsExactly(ints(c.get("position_ids").get(r)));
            }
        }
    }

    @Test
    void loadsFromTokenizerAndModelFolders() {
        Glm2Tokenizer a = Glm2Tokenizer.load(Fixtures.path("glm3/tokenizer"), true);
        Glm2Tokenizer b = Glm2Tokenizer.load(Fixtures.path("glm3/model/checkpoint"), true);
        assertThat(a.encode("你好 <|user|> world")).containsExactly(b.encode("你好 <|user|> world"));
        assertThat(a.encodeSpecialTokens()).isFalse();
        assertThatThrownBy(() -> Glm2Tokenizer.load(Fixtures.path("model_a/checkpoint"), false))
                .isInstanceOf(ChatGlmException.class).hasMessageContaining("tokenizer.model");
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : array) out.add(n.asText());
        return out;
    }
}
