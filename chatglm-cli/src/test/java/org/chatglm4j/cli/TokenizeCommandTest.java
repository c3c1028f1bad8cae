package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.assertj.core.api.SoftAssertions;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code chatglm tokenize} against every case of both tokenizer goldens, through the command line. */
class TokenizeCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode golden(String name) {
        return Fixtures.json(name + "/tokenizer.json");
    }

    /** The tokenizer folders hold no config.json and no weights: only the tokenizer may be loaded. */
    @ParameterizedTest
    @ValueSource(strings = {"tokenizer_unigram", "tokenizer_bpe"})
    void everyEncodeCaseOfTheGolden(String name) throws Exception {
        JsonNode cases = golden(name).get("cases");
        StringBuilder in = new StringBuilder();
        for (JsonNode c : cases) in.append(JSON.writeValueAsString(JSON.createObjectNode().put("text", c.get("text").asText()))).append('\n');
        Cli.Result r = Cli.run(in.toString(), "tokenize", "--model", Cli.fixture(name), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        List<String> lines = r.outLines();
        assertThat(lines).hasSize(cases.size());
        SoftAssertions soft = new SoftAssertions();
        for (int i = 0; i < cases.size(); i++) {
            JsonNode c = cases.get(i);
            JsonNode got = JSON.readTree(lines.get(i));
            String what = name + " case " + i;
            soft.assertThat(got.get("ids")).as(what + " ids").isEqualTo(c.get("ids"));
            soft.assertThat(got.get("input_ids")).as(what + " input_ids").isEqualTo(c.get("input_ids"));
            soft.assertThat(got.get("pieces")).as(what + " pieces").isEqualTo(c.get("pieces"));
            JsonNode hf = c.has("hf_input_ids") ? c.get("hf_input_ids") : c.get("input_ids");
            soft.assertThat(got.get("hf_input_ids")).as(what + " hf_input_ids").isEqualTo(hf);
        }
        soft.assertAll();
    }

    @ParameterizedTest
    @ValueSource(strings = {"tokenizer_unigram", "tokenizer_bpe"})
    void everyDecodeCaseAndTheIdsOfEveryEncodeCase(String name) throws Exception {
        JsonNode g = golden(name);
        StringBuilder in = new StringBuilder();
        List<JsonNode> all = new java.util.ArrayList<>();
        g.get("decode_cases").forEach(all::add);
        g.get("cases").forEach(all::add);
        for (JsonNode c : all) in.append(JSON.writeValueAsString(JSON.createObjectNode().set("ids", c.get("ids")))).append('\n');
        Cli.Result r = Cli.run(in.toString(), "tokenize", "--model", Cli.fixture(name), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        List<String> lines = r.outLines();
        assertThat(lines).hasSize(all.size());
        SoftAssertions soft = new SoftAssertions();
        for (int i = 0; i < all.size(); i++) {
            soft.assertThat(JSON.readTree(lines.get(i)).get("text").asText()).as(name + " decode " + all.get(i).get("ids"))
                    .isEqualTo(all.get(i).get("hf_decoded").asText());
        }
        soft.assertAll();
    }

    @Test
    void plainModeGivesOneReadableLinePerInputLine() {
        Cli.Result r = Cli.run("你好\nHello, world\n\n", "tokenize", "--model", Cli.fixture("tokenizer_unigram"));
        assertThat(r.status()).isZero();
        JsonNode c = null;
        for (JsonNode x : golden("tokenizer_unigram").get("cases")) if (x.get("text").asText().equals("你好")) c = x;
        assertThat(r.outLines()).hasSize(3);
        assertThat(r.outLines().get(0)).isEqualTo("ids=[5,609] pieces=[\"▁\",\"你好\"]");
        assertThat(r.outLines().get(2)).isEqualTo("ids=[] pieces=[]");
        if (c != null) assertThat(r.outLines().get(0)).startsWith("ids=" + c.get("ids").toString());
    }

    @Test
    void badLinesGetAnErrorObjectEachAndProcessingGoesOn() throws Exception {
        String in = """
                {"text": "你好"}
                not json
                {"text": 5}
                {"ids": [1, 99999]}
                {"ids": "1,2"}
                {"text": "a", "ids": [1]}
                [1, 2]

                {"text": "a"} trailing
                {"ids": [5, 609]}
                """;
        Cli.Result r = Cli.run(in, "tokenize", "--model", Cli.fixture("tokenizer_unigram"), "--json");
        assertThat(r.status()).isEqualTo(1);
        List<String> out = r.outLines();
        assertThat(out).hasSize(10);
        assertThat(JSON.readTree(out.get(0)).has("ids")).isTrue();
        for (int i = 1; i <= 8; i++) {
            JsonNode e = JSON.readTree(out.get(i));
            assertThat(e.fieldNames()).toIterable().as("line %d: %s", i + 1, out.get(i)).containsExactly("error");
            assertThat(e.get("error").asText()).startsWith("line " + (i + 1) + ": ");
        }
        assertThat(JSON.readTree(out.get(3)).get("error").asText()).contains("99999", "outside the vocabulary");
        assertThat(JSON.readTree(out.get(2)).get("error").asText()).contains("text must be a string");
        assertThat(JSON.readTree(out.get(9)).get("text").asText()).isEqualTo("你好");
        assertThat(r.errLines()).hasSize(8).allMatch(l -> l.startsWith("chatglm: error: line "));
        assertThat(r.err()).doesNotContain("Exception", "\tat ");
    }

    @Test
    void aModelFolderWithConfigAndWeightsWorksToo() {
        Cli.Result r = Cli.run("{\"text\":\"你好\"}\n", "tokenize", "--model", Cli.fixture("model_a/checkpoint"), "--json");
        assertThat(r.status()).isZero();
        assertThat(r.out()).startsWith("{\"ids\":[5,609],\"input_ids\":[5,609,1301,1304],");
    }

    @Test
    void aFolderWithoutTokenizerIsAClearError(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{}");
        Cli.Result r = Cli.run("x\n", "tokenize", "--model", dir.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().startsWith("chatglm: error: ").contains("ice_text.model");
    }
}
