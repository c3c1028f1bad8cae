package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.assertj.core.api.SoftAssertions;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code chatglm tokenize --json} on ChatGLM2/3 tokenizer and model folders, against every golden case. */
class Glm2TokenizeCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @CsvSource({"glm2, glm2/tokenizer", "glm2, glm2/model/checkpoint", "glm3, glm3/tokenizer",
            "glm3, glm3/model/checkpoint"})
    void everyEncodeAndDecodeCase(String family, String folder) throws Exception {
        JsonNode g = Fixtures.json(family + "/tokenizer/tokenizer.json");
        List<JsonNode> requests = new ArrayList<>();
        List<JsonNode> expected = new ArrayList<>();
        for (JsonNode c : g.get("cases")) {
            requests.add(JSON.createObjectNode().put("text", c.get("text").asText()));
            expected.add(JSON.createObjectNode().set("ids", c.get("ids")));
            requests.add(JSON.createObjectNode().set("ids", c.get("ids")));
            expected.add(JSON.createObjectNode().set("text", c.get("decoded")));
        }
        for (JsonNode c : g.get("decode_cases")) {
            requests.add(JSON.createObjectNode().set("ids", c.get("ids")));
            expected.add(JSON.createObjectNode().set("text", c.get("decoded")));
        }
        for (JsonNode c : g.get("decode_out_of_range_cases")) {
            requests.add(JSON.createObjectNode().set("ids", c.get("ids")));
            expected.add(c.has("decoded") ? JSON.createObjectNode().set("text", c.get("decoded")) : null);
        }
        StringBuilder in = new StringBuilder();
        for (JsonNode r : requests) in.append(JSON.writeValueAsString(r)).append('\n');
        Cli.Result r = Cli.run(in.toString(), "tokenize", "--model", Cli.fixture(folder), "--json");
        List<String> lines = r.outLines();
        assertThat(lines).hasSize(requests.size());
        SoftAssertions soft = new SoftAssertions();
        for (int i = 0; i < lines.size(); i++) {
            JsonNode got = JSON.readTree(lines.get(i));
            JsonNode want = expected.get(i);
            if (want == null) {
                soft.assertThat(got.has("error")).as("line " + (i + 1) + " " + requests.get(i)).isTrue();
                continue;
            }
            String field = want.fieldNames().next();
            soft.assertThat(got.get(field)).as("line " + (i + 1) + " " + requests.get(i)).isEqualTo(want.get(field));
        }
        soft.assertAll();
        assertThat(r.status()).isEqualTo(family.equals("glm2") ? 1 : 0);   // v2 fails on ids past its vocabulary
    }

    @ParameterizedTest
    @CsvSource({"glm2, [1701]", "glm3, [1501]"})
    void specialIdsDecodeAsTheReferenceDoes(String family, String ids) throws Exception {
        Cli.Result r = Cli.run("{\"ids\": " + ids + "}\n", "tokenize", "--model", Cli.fixture(family + "/tokenizer"),
                "--json");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(JSON.readTree(r.outLines().get(0)).get("text").asText())
                .isEqualTo(family.equals("glm2") ? "" : "[gMASK]");
    }

    @ParameterizedTest
    @CsvSource({"glm2", "glm3"})
    void chatFormatOptionOverridesTheFolder(String explicit) throws Exception {
        Cli.Result r = Cli.run("{\"ids\": [1703]}\n", "tokenize", "--model", Cli.fixture("glm2/tokenizer"),
                "--chat-format", explicit, "--json");
        assertThat(r.status()).as(r.err()).isZero();
        // with v3's role tokens the fifth special (id 1704 in glm2's numbering) is eop; 1703 is sop either way
        assertThat(JSON.readTree(r.outLines().get(0)).get("text").asText()).isEqualTo(explicit.equals("glm3") ? "sop" : "");
    }
}
