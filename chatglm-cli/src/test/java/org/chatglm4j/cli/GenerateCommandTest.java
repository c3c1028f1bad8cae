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

/** {@code chatglm generate} against every greedy generation of generate.json (and ptuning.json). */
class GenerateCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Arguments> generations() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("model_a", "model_b")) {
            for (JsonNode g : Fixtures.json(m + "/generate.json").get("generations")) {
                out.add(Arguments.of(m, g.get("name").asText(), g));
            }
        }
        for (String m : List.of("ptuning_a", "ptuning_b")) {
            for (JsonNode p : Fixtures.json(m + "/ptuning.json").get("prompts")) {
                if (p.has("generation")) out.add(Arguments.of(m, p.get("name").asText(), p.get("generation")));
            }
        }
        return out.stream();
    }

    static String[] args(String m, String... rest) {
        return Stream.concat(Stream.concat(Stream.of("generate"), Stream.of(LogitsCommandTest.modelArgs(m))),
                Stream.concat(Stream.of("--threads", Cli.THREADS), Stream.of(rest))).toArray(String[]::new);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("generations")
    void jsonGenerationFromIds(String m, String name, JsonNode g) throws Exception {
        Cli.Result r = Cli.run("", args(m, "--json", "--greedy", "--max-length", g.get("max_length").asText(),
                "--ids", LogitsCommandTest.ids(g.get("input_ids"))));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.outLines()).hasSize(1);
        JsonNode got = JSON.readTree(r.out());
        assertThat(got.get("input_ids")).isEqualTo(g.get("input_ids"));
        assertThat(got.get("generated_ids")).isEqualTo(g.get("generated_ids"));
        assertThat(got.get("text").asText()).isEqualTo(g.get("decoded").asText());
        assertThat(got.get("response").asText()).isEqualTo(g.get("response").asText());
    }

    /** The generations of the two models that have a text prompt (P-tuning adds nothing to the plain output). */
    static Stream<Arguments> promptGenerations() {
        return generations().filter(a -> {
            JsonNode g = (JsonNode) a.get()[2];
            return !((String) a.get()[0]).startsWith("ptuning") && g.has("prompt") && !g.get("prompt").asText().isEmpty();
        });
    }

    /** Greedy is generate's default, as in the reference generate(); --prompt encodes as chat() does. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("promptGenerations")
    void plainGenerationFromThePromptStreamsTheText(String m, String name, JsonNode g) {
        Cli.Result r = Cli.run("", args(m, "--max-length", g.get("max_length").asText(), "--prompt",
                g.get("prompt").asText()));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(g.get("decoded").asText() + "\n");
    }

    @Test
    void maxNewTokensCountsFromTheEndOfThePrompt() throws Exception {
        JsonNode g = Fixtures.json("model_a/generate.json").get("generations").get(0);
        Cli.Result r = Cli.run("", args("model_a", "--json", "--max-new-tokens", "3", "--ids",
                LogitsCommandTest.ids(g.get("input_ids"))));
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode got = JSON.readTree(r.out()).get("generated_ids");
        assertThat(got.size()).isEqualTo(3);
        for (int i = 0; i < 3; i++) assertThat(got.get(i)).isEqualTo(g.get("generated_ids").get(i));
    }

    @Test
    void seededSamplingIsReproducible() {
        String[] a = args("model_a", "--json", "--do-sample", "--seed", "42", "--temperature", "0.95", "--top-p",
                "0.7", "--max-new-tokens", "12", "--prompt", "你好");
        Cli.Result first = Cli.run("", a);
        Cli.Result second = Cli.run("", a);
        assertThat(first.status()).as(first.err()).isZero();
        assertThat(first.out()).isEqualTo(second.out());
    }

    @Test
    void aPromptThatLeavesNoRoomIsAnError() {
        JsonNode g = Fixtures.json("model_a/generate.json").get("generations").get(1);
        int n = g.get("input_ids").size();
        Cli.Result r = Cli.run("", args("model_a", "--max-length", Integer.toString(n), "--ids",
                LogitsCommandTest.ids(g.get("input_ids"))));
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().asString().isEqualTo("chatglm: error: the prompt is " + n
                + " tokens long: with max_length " + n + " there is no room for new tokens (raise --max-length or "
                + "use --max-new-tokens)");
    }

    @Test
    void promptAndIdsAreExclusiveAndOneIsRequired() {
        Cli.Result both = Cli.run("", args("model_a", "--prompt", "x", "--ids", "1,2"));
        assertThat(both.status()).isEqualTo(2);
        assertThat(both.errLines().getFirst()).startsWith("chatglm: error: ").contains("mutually exclusive");
        Cli.Result none = Cli.run("", args("model_a"));
        assertThat(none.status()).isEqualTo(2);
        assertThat(none.errLines().getFirst()).startsWith("chatglm: error: Missing required argument");
    }

    @Test
    void invalidSamplingValuesAreUsageErrors() {
        Cli.Result r = Cli.run("", args("model_a", "--prompt", "x", "--do-sample", "--temperature", "0"));
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.errLines().getFirst()).startsWith("chatglm: error: ").contains("temperature");
        Cli.Result greedyAndSample = Cli.run("", args("model_a", "--prompt", "x", "--do-sample", "--greedy"));
        assertThat(greedyAndSample.status()).isEqualTo(2);
    }
}
