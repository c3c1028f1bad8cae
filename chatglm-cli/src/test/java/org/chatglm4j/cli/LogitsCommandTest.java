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
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code chatglm logits --json} against the full-sequence logits of every prompt of forward.json / ptuning.json. */
class LogitsCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final double TOL = 1e-3;

    static Stream<Arguments> prompts() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("model_a", "model_b", "ptuning_a", "ptuning_b")) {
            String file = m.startsWith("ptuning") ? m + "/ptuning.json" : m + "/forward.json";
            JsonNode prompts = Fixtures.json(file).get("prompts");
            for (JsonNode p : prompts) out.add(Arguments.of(m, p.get("name").asText(), p));
        }
        return out.stream();
    }

    static String[] modelArgs(String m) {
        return switch (m) {
            case "ptuning_a" -> new String[]{"--model", Cli.fixture("model_a/checkpoint"), "--ptuning",
                    Cli.fixture("ptuning_a/ptuning_checkpoint")};
            case "ptuning_b" -> new String[]{"--model", Cli.fixture("model_b/checkpoint"), "--ptuning",
                    Cli.fixture("ptuning_b/ptuning_checkpoint")};
            default -> new String[]{"--model", Cli.fixture(m + "/checkpoint")};
        };
    }

    static String ids(JsonNode array) {
        List<String> s = new ArrayList<>();
        array.forEach(n -> s.add(n.asText()));
        return String.join(",", s);
    }

    static String[] args(String... parts) {
        return parts;
    }

    static String[] concat(String[] a, String... b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("prompts")
    void jsonLogitsOfEveryPosition(String m, String name, JsonNode p) throws Exception {
        Cli.Result r = Cli.run("", concat(concat(args("logits"), modelArgs(m)), "--ids", ids(p.get("input_ids")),
                "--json", "--threads", Cli.THREADS));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.outLines()).hasSize(1);
        JsonNode got = JSON.readTree(r.out()).get("logits");
        JsonNode want = p.get("logits");
        assertThat(got.size()).isEqualTo(want.size());
        for (int i = 0; i < want.size(); i++) {
            assertThat(got.get(i).size()).isEqualTo(want.get(i).size());
            double worst = 0;
            for (int j = 0; j < want.get(i).size(); j++) {
                JsonNode g = got.get(i).get(j);
                assertThat(g.isNumber()).isTrue();
                // written as float32's shortest round-trip decimal (as Float.toString), not as a widened double
                assertThat(Double.toString(g.doubleValue())).isEqualTo(Float.toString((float) g.doubleValue()));
                worst = Math.max(worst, Math.abs(g.doubleValue() - want.get(i).get(j).doubleValue()));
            }
            assertThat(worst).as("%s position %d max |Δ|", name, i).isLessThanOrEqualTo(TOL);
        }
    }

    @Test
    void plainOutputGivesTheArgmaxAndTopFivePerPosition() {
        JsonNode p = Fixtures.json("model_a/forward.json").get("prompts").get(0);
        Cli.Result r = Cli.run("", concat(concat(args("logits"), modelArgs("model_a")), "--ids", ids(p.get("input_ids"))));
        assertThat(r.status()).as(r.err()).isZero();
        List<String> lines = r.outLines();
        assertThat(lines).hasSize(p.get("input_ids").size());
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            int argmax = p.get("argmax_per_position").get(i).asInt();
            assertThat(line.strip()).startsWith(i + " ");
            assertThat(line).contains("argmax " + String.format("%6d", argmax));
            String top = line.substring(line.indexOf("top5:") + 5).strip();
            List<String> entries = Stream.of(top.split(" ")).collect(Collectors.toList());
            assertThat(entries).hasSize(5);
            assertThat(entries.getFirst()).startsWith(argmax + "=");
            float prev = Float.POSITIVE_INFINITY;
            for (String e : entries) {
                float v = Float.parseFloat(e.substring(e.indexOf('=') + 1));
                assertThat(v).isLessThanOrEqualTo(prev);
                prev = v;
            }
        }
    }

    @Test
    void idsOutsideTheVocabularyAreAnError() {
        Cli.Result r = Cli.run("", concat(concat(args("logits"), modelArgs("model_a")), "--ids", "5,1644,1301,1304"));
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().asString()
                .isEqualTo("chatglm: error: --ids: id 1644 (at index 1) is outside the vocabulary of 1644 tokens (0..1643)");
    }

    @Test
    void idsWithoutSopAreAnError() {
        Cli.Result r = Cli.run("", concat(concat(args("logits"), modelArgs("model_a")), "--ids", "5,6,1301"));
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.errLines()).singleElement().asString().startsWith("chatglm: error: ").contains("<sop>");
    }

    @Test
    void idsThatAreNotNumbersAreAUsageError() {
        Cli.Result r = Cli.run("", concat(concat(args("logits"), modelArgs("model_a")), "--ids", "5,x,7"));
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.errLines().getFirst()).startsWith("chatglm: error: ").contains("'x' is not a token id");
        assertThat(r.err()).contains("Try 'chatglm logits --help'");
    }

    @Test
    void topKOrdersByValueThenIndex() {
        float[] v = {1, 5, 3, 5, Float.NaN, 2, 4};
        int[] top = new int[5];
        assertThat(LogitsCommand.topK(v, 0, v.length, top)).isEqualTo(5);
        assertThat(top).containsExactly(1, 3, 6, 2, 5);
        int[] small = new int[5];
        assertThat(LogitsCommand.topK(new float[]{0, 9, 2}, 1, 2, small)).isEqualTo(2);
        assertThat(small[0]).isZero();
        assertThat(small[1]).isEqualTo(1);
    }
}
