package org.chatglm4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * The normalizer options ChatGLM's file does not use but SentencePiece supports (no extra-whitespace removal,
 * no dummy prefix, unescaped spaces, whitespace as suffix, identity normalization), on the fixture models with the
 * option fields appended (protobuf merges a repeated message field, so the appended values win). Expected values:
 * {@code tokenizer_flag_variants.json}, produced by sentencepiece 0.1.97 (python3-sentencepiece) on the same bytes.
 */
class SentencePieceFlagVariantsTest {

    static Stream<Arguments> cases() throws IOException {
        JsonNode root;
        try (InputStream in = SentencePieceFlagVariantsTest.class.getClassLoader()
                .getResourceAsStream("tokenizer_flag_variants.json")) {
            root = new ObjectMapper().readTree(in);
        }
        List<Arguments> out = new ArrayList<>();
        int i = 0;
        for (JsonNode c : root.get("cases")) {
            String what = c.has("text") ? "encode " + TokenizerGoldens.shorten(c.get("text").asText())
                    : "decode " + c.get("decode_ids");
            out.add(Arguments.of(c.get("tokenizer").asText(), c.get("variant").asText(), i++ + " " + what, c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}: {2}")
    @MethodSource("cases")
    void matchesSentencePiece(String tokenizerName, String variant, String label, JsonNode c) throws IOException {
        byte[] base = Files.readAllBytes(Fixtures.path(tokenizerName + "/ice_text.model"));
        byte[] appended = HexFormat.of().parseHex(c.get("appended_hex").asText());
        byte[] model = new ModelProtoWriter().raw(base).raw(appended).toBytes();
        SentencePieceProcessor sp = new SentencePieceProcessor(SentencePieceModel.parse(model, variant));
        String what = tokenizerName + " " + variant + " " + label;
        if (c.has("text")) {
            Encoding e = sp.encode(c.get("text").asText());
            assertThat(e.ids()).as(what + " ids").containsExactly(ints(c.get("ids")));
            assertThat(e.pieces()).as(what + " pieces").containsExactlyElementsOf(ChatGlmTokenizerGoldenTest.strings(c.get("pieces")));
            assertThat(sp.decodeIds(e.ids())).as(what + " decoded").isEqualTo(c.get("decoded").asText());
        } else {
            assertThat(sp.decodeIds(ints(c.get("decode_ids")))).as(what).isEqualTo(c.get("decoded").asText());
        }
    }
}
