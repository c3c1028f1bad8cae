package org.chatglm4j.generate;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Every case of fixtures/sampling.json (reference warpers, README §4.4) through {@link ScorePipeline}. */
class SamplingGoldenTest {
    private static final double PROBABILITY_TOLERANCE = 1e-5;

    static Stream<Arguments> cases() {
        JsonNode cases = Fixtures.json("sampling.json").get("cases");
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : cases) {
            String name = "%s T=%s k=%s p=%s".formatted(c.get("logits_name").asText(), c.get("temperature").asText(),
                    c.get("top_k").asText(), c.get("top_p").asText());
            out.add(Arguments.of(name, c));
        }
        return out.stream();
    }

    @Test
    void fixtureHasTheExpectedCases() {
        assertThat(Fixtures.json("sampling.json").get("cases")).hasSize(61);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void reproducesReferenceWarpers(String name, JsonNode c) {
        float[] row = logits(c.get("logits_name").asText());
        SamplingSettings settings = settings(c);
        ScorePipeline pipeline = new ScorePipeline(settings, row.length);

        boolean fired = pipeline.process(row, 0, new int[0], 0);
        assertThat(fired).as("invalid_score_processor_fired").isEqualTo(c.get("invalid_score_processor_fired").asBoolean());
        assertThat(Sampler.argmax(row, 0, row.length)).as("argmax").isEqualTo(c.get("argmax").asInt());
        assertThat(warpersApplied(settings)).as("warpers_applied").isEqualTo(strings(c.get("warpers_applied")));

        TokenDistribution d = pipeline.warp(row, 0);
        int[] expectedIds = Fixtures.ints(c.get("kept_ids"));
        float[] expectedProbs = Fixtures.floats(c.get("kept_probs"));
        float[] byId = probabilitiesById(d, row.length);
        int[] keptIds = sortedIds(d);
        assertThat(keptIds).as("kept_ids").containsExactly(expectedIds);
        for (int i = 0; i < expectedIds.length; i++) {
            assertThat(byId[expectedIds[i]]).as("probability of id %d", expectedIds[i])
                    .isCloseTo(expectedProbs[i], within((float) PROBABILITY_TOLERANCE));
        }
        // the warped row: -inf exactly where removed
        for (int id = 0; id < row.length; id++) {
            assertThat(row[id] != Float.NEGATIVE_INFINITY).as("id %d finite after warpers", id)
                    .isEqualTo(Arrays.binarySearch(expectedIds, id) >= 0);
        }
        assertThat(Sampler.argmax(row, 0, row.length)).as("argmax after warpers").isEqualTo(c.get("argmax").asInt());

        if (c.has("kept_after_top_k")) {
            // the same settings without top-p stop right after top-k
            float[] fresh = logits(c.get("logits_name").asText());
            ScorePipeline topKOnly = new ScorePipeline(new SamplingSettings(true, settings.temperature(),
                    settings.topK(), 1.0, 1.0), fresh.length);
            topKOnly.process(fresh, 0, new int[0], 0);
            assertThat(sortedIds(topKOnly.warp(fresh, 0))).as("kept_after_top_k")
                    .containsExactly(Fixtures.ints(c.get("kept_after_top_k")));
        } else {
            assertThat(settings.topKActive()).as("kept_after_top_k is given exactly when top-k runs").isFalse();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void greedyPicksTheReferenceArgmax(String name, JsonNode c) {
        float[] row = logits(c.get("logits_name").asText());
        ScorePipeline greedy = new ScorePipeline(settings(c).withDoSample(false), row.length);
        assertThat(greedy.nextToken(row, 0, new int[0], 0, null)).isEqualTo(c.get("argmax").asInt());
    }

    private static SamplingSettings settings(JsonNode c) {
        return new SamplingSettings(true, c.get("temperature").asDouble(), c.get("top_k").asInt(),
                c.get("top_p").asDouble(), 1.0);
    }

    /** The golden vector, with null values replaced as its {@code nonfinite} map says. */
    static float[] logits(String name) {
        JsonNode v = Fixtures.json("sampling.json").get("logits_vectors").get(name);
        assertThat(v).as("logits vector %s", name).isNotNull();
        JsonNode values = v.get("values");
        float[] row = new float[v.get("length").asInt()];
        assertThat(values).hasSize(row.length);
        for (int i = 0; i < row.length; i++) {
            JsonNode x = values.get(i);
            if (x.isNull()) {
                String kind = v.get("nonfinite").get(Integer.toString(i)).asText();
                row[i] = switch (kind) {
                    case "nan" -> Float.NaN;
                    case "inf" -> Float.POSITIVE_INFINITY;
                    case "-inf" -> Float.NEGATIVE_INFINITY;
                    default -> throw new AssertionError("unknown non-finite kind " + kind);
                };
            } else {
                row[i] = (float) x.asDouble();
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = v.get("nonfinite").properties().iterator(); it.hasNext(); ) {
            assertThat(values.get(Integer.parseInt(it.next().getKey())).isNull()).isTrue();
        }
        return row;
    }

    private static List<String> warpersApplied(SamplingSettings s) {
        List<String> out = new ArrayList<>();
        if (s.temperatureActive()) out.add("temperature");
        if (s.topKActive()) out.add("top_k");
        if (s.topPActive()) out.add("top_p");
        return out;
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(x -> out.add(x.asText()));
        return out;
    }

    static int[] sortedIds(TokenDistribution d) {
        int[] ids = new int[d.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = d.id(i);
        Arrays.sort(ids);
        return ids;
    }

    static float[] probabilitiesById(TokenDistribution d, int vocabSize) {
        float[] out = new float[vocabSize];
        for (int i = 0; i < d.size(); i++) out[d.id(i)] = d.probability(i);
        return out;
    }
}
