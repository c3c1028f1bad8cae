package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The beam-search CLI contract against fixtures/beam/beam.json: {@code generate --ids … --greedy --num-beams K
 * --max-length N [--length-penalty X] [--early-stopping] --json} gives the reference's new ids (every case, chat
 * cases through their prompt ids too), and {@code chat --greedy --num-beams K --json} its responses.
 */
class BeamSearchCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : Fixtures.json("beam/beam.json").get("cases")) out.add(Arguments.of(c.get("name").asText(), c));
        return out.stream();
    }

    static String model(JsonNode c) {
        return c.get("model").asText().replace("../", "").replace("/checkpoint", "");
    }

    static List<String> beamFlags(JsonNode c) {
        List<String> f = new ArrayList<>(List.of("--greedy", "--num-beams", c.get("num_beams").asText()));
        if (c.get("length_penalty").asDouble() != 1.0) f.addAll(List.of("--length-penalty", c.get("length_penalty").asText()));
        if (c.get("early_stopping").asBoolean()) f.add("--early-stopping");
        return f;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void generateGivesTheReferenceIds(String name, JsonNode c) throws Exception {
        List<String> rest = new ArrayList<>(List.of("--ids", LogitsCommandTest.ids(c.get("input_ids")),
                "--max-length", c.get("max_length").asText(), "--json"));
        rest.addAll(beamFlags(c));
        Cli.Result r = Cli.run("", GenerateCommandTest.args(model(c), rest.toArray(String[]::new)));
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode got = JSON.readTree(r.out());
        assertThat(got.get("generated_ids")).isEqualTo(c.get("generated_ids"));
        assertThat(got.get("text").asText()).isEqualTo(c.get("decoded").asText());
    }

    static Stream<Arguments> chatCases() {
        return cases().filter(a -> ((JsonNode) a.get()[1]).get("kind").asText().equals("chat"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("chatCases")
    void chatJsonLinesGiveTheReferenceResponse(String name, JsonNode c) throws Exception {
        String line = c.get("history").isEmpty()
                ? ChatCommandTest.line("query", c.get("query").asText(), "max_length", c.get("max_length").asInt())
                : ChatCommandTest.line("query", c.get("query").asText(), "max_length", c.get("max_length").asInt(),
                "history", c.get("history"));
        List<String> rest = new ArrayList<>(List.of("--json"));
        rest.addAll(beamFlags(c));
        Cli.Result r = Cli.run(line, ChatCommandTest.args(model(c), rest.toArray(String[]::new)));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.outLines()).hasSize(1);
        assertThat(JSON.readTree(r.out()).get("response").asText()).isEqualTo(c.get("response").asText());
    }

    @Test
    void perLineBeamSettingsOverrideTheCommandLine() throws Exception {
        JsonNode c = Fixtures.json("beam/beam.json").get("cases").get(3);   // a_chat_cpu_nb2_lp2_early
        assertThat(c.get("early_stopping").asBoolean()).isTrue();
        String line = ChatCommandTest.line("query", c.get("query").asText(), "max_length", c.get("max_length").asInt(),
                "num_beams", c.get("num_beams").asInt(), "length_penalty", c.get("length_penalty").asDouble(),
                "early_stopping", true);
        Cli.Result r = Cli.run(line, ChatCommandTest.args(model(c), "--json", "--greedy"));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(JSON.readTree(r.out()).get("response").asText()).isEqualTo(c.get("response").asText());
    }

    @Test
    void oneBeamIsGreedy() throws Exception {
        JsonNode g = Fixtures.json("model_a/generate.json").get("generations").get(0);
        Cli.Result r = Cli.run("", GenerateCommandTest.args("model_a", "--json", "--greedy", "--num-beams", "1",
                "--length-penalty", "2", "--early-stopping", "--max-length", g.get("max_length").asText(),
                "--ids", LogitsCommandTest.ids(g.get("input_ids"))));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(JSON.readTree(r.out()).get("generated_ids")).isEqualTo(g.get("generated_ids"));
    }

    @Test
    void beamSamplingIsAUsageError() {
        Cli.Result r = Cli.run("", ChatCommandTest.args("model_a", "--json", "--num-beams", "3"));
        assertThat(r.status()).isNotZero();
        assertThat(r.err()).contains("beam sampling").contains("--greedy");
        r = Cli.run("", GenerateCommandTest.args("model_a", "--json", "--greedy", "--num-beams", "0", "--ids", "5,6"));
        assertThat(r.status()).isNotZero();
        assertThat(r.err()).contains("num_beams must be at least 1");
    }
}
