package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code chatglm chat --json --greedy} on ChatGLM2/3 folders against the reference's chat() transcripts: one
 * conversation continued line by line, an initial history (v3: a system message, with tools) given on the first
 * line, v3's observation role, responses as the reference returns them and histories in its shape.
 */
class Glm2ChatCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @CsvSource({"glm2, glm2/model/generate.json, ''", "glm3, glm3/model/generate.json, ''",
            "glm2, glm2/ptuning/ptuning.json, glm2/ptuning/ptuning_checkpoint",
            "glm3, glm3/ptuning/ptuning.json, glm3/ptuning/ptuning_checkpoint"})
    void chatTranscripts(String family, String golden, String ptuning) throws Exception {
        for (JsonNode chat : Fixtures.json(golden).get("chats")) {
            StringBuilder in = new StringBuilder();
            List<JsonNode> rounds = new ArrayList<>();
            chat.get("rounds").forEach(rounds::add);
            for (int i = 0; i < rounds.size(); i++) {
                JsonNode round = rounds.get(i);
                ObjectNode line = JSON.createObjectNode();
                line.put("query", round.get("query").asText());
                line.put("max_length", round.get("max_length").asInt());
                if (round.has("role")) line.put("role", round.get("role").asText());
                if (i == 0 && !chat.get("initial_history").isEmpty()) line.set("history", chat.get("initial_history"));
                in.append(JSON.writeValueAsString(line)).append('\n');
            }
            List<String> args = new ArrayList<>(List.of("chat", "--model", Cli.fixture(family + "/model/checkpoint"),
                    "--json", "--greedy", "--threads", "2"));
            if (!ptuning.isEmpty()) args.addAll(List.of("--ptuning", Cli.fixture(ptuning)));
            Cli.Result r = Cli.run(in.toString(), args.toArray(String[]::new));
            List<String> lines = r.outLines();
            assertThat(lines).as(r.err()).hasSize(rounds.size());
            for (int i = 0; i < rounds.size(); i++) {
                JsonNode got = JSON.readTree(lines.get(i));
                JsonNode want = rounds.get(i);
                String what = chat.get("name").asText() + " round " + (i + 1);
                assertThat(got.get("query")).as(what).isEqualTo(want.get("query"));
                assertThat(got.get("response")).as(what).isEqualTo(want.get("response"));
                assertThat(got.get("history")).as(what).isEqualTo(want.get("returned_history"));
            }
            assertThat(r.status()).isZero();
        }
    }

    @Test
    void rolesNeedGlm3AndBadLinesAreOneLineErrors() throws Exception {
        // ChatGLM2 (detected, or chosen with --chat-format for a ChatGLM3 folder) has no roles
        Cli.Result r = Cli.run("{\"query\": \"x\", \"role\": \"observation\"}\n", "chat", "--model",
                Cli.fixture("glm2/model/checkpoint"), "--json", "--greedy");
        assertThat(JSON.readTree(r.outLines().getFirst()).get("error").asText()).contains("glm3");
        assertThat(r.status()).isEqualTo(1);
        Cli.Result forced = Cli.run("{\"query\": \"x\", \"role\": \"observation\"}\n{\"query\": \"你好\", \"max_length\": 40}\n",
                "chat", "--model", Cli.fixture("glm3/model/checkpoint"), "--chat-format", "glm2", "--json", "--greedy");
        assertThat(JSON.readTree(forced.outLines().get(0)).get("error").asText()).contains("glm3");
        // the random ChatGLM3 weights then generate <|observation|>, an id ChatGLM2's decode refuses, as the reference's
        assertThat(JSON.readTree(forced.outLines().get(1)).get("error").asText()).contains("out of range");
        Cli.Result bad = Cli.run("{\"query\": \"x\", \"role\": \"robot\"}\n{\"query\": \"x\", \"history\": [{\"role\": 1}]}\n",
                "chat", "--model", Cli.fixture("glm3/model/checkpoint"), "--json", "--greedy");
        assertThat(bad.outLines()).hasSize(2);
        assertThat(JSON.readTree(bad.outLines().get(0)).get("error").asText()).contains("unknown role");
        assertThat(JSON.readTree(bad.outLines().get(1)).get("error").asText()).contains("history[0]");
    }
}
