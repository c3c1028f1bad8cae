package org.chatglm4j.generate;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.chat.Round;
import org.chatglm4j.model.Batch;
import org.chatglm4j.model.Runner;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * Beam search against transformers 4.27.1's BeamSearchScorer over the reference model (fixtures/beam/beam.json,
 * copied from shared/fixtures/beam): every step's beams (source and token exact, scores within 1e-3), the final
 * hypotheses, the output ids, and for chat cases the response through the public API.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BeamSearchGoldenTest {
    private final Map<String, ChatGLM> models = new HashMap<>();

    private ChatGLM model(String relative) {
        String folder = relative.replace("../", "");   // relative to fixtures/beam
        return models.computeIfAbsent(folder, f -> ChatGLM.load(Fixtures.path(f), LoadOptions.defaults().withThreads(2)));
    }

    @AfterAll
    void close() {
        models.values().forEach(ChatGLM::close);
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (JsonNode c : Fixtures.json("beam/beam.json").get("cases")) out.add(Arguments.of(c.get("name").asText(), c));
        return out.stream();
    }

    static GenerationConfig config(JsonNode c) {
        return GenerationConfig.greedy(c.get("max_length").asInt()).withBeams(c.get("num_beams").asInt(),
                c.get("length_penalty").asDouble(), c.get("early_stopping").asBoolean());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void stepByStep(String name, JsonNode c) {
        ChatGLM glm = model(c.get("model").asText());
        int[] input = ints(c.get("input_ids"));
        Runner runner = glm.model().newRunner();
        Batch batch = new Batch();
        JsonNode steps = c.get("steps");
        int k = c.get("num_beams").asInt();
        try (BeamSearch search = new BeamSearch(glm.model(), input, config(c))) {
            for (int s = 0; !search.finished(); s++) {
                batch.clear();
                search.addTo(batch);
                runner.forward(batch, (seg, i, logits, off) -> search.accept(seg, logits, off));
                assertThat(s).as("more steps than the reference").isLessThan(steps.size());
                JsonNode beams = steps.get(s).get("beams");
                for (int b = 0; b < k; b++) {
                    JsonNode want = beams.get(b);
                    assertThat(new int[]{search.source(b), search.token(b)}).as("step %d beam %d", s, b)
                            .containsExactly(want.get(0).asInt(), want.get(1).asInt());
                    assertThat(search.score(b)).as("step %d beam %d score", s, b)
                            .isCloseTo((float) want.get(2).asDouble(), within(1e-3f));
                }
            }
            assertThat(search.steps()).isEqualTo(c.get("forward_passes").asInt());
            assertThat(search.generatedIds()).containsExactly(ints(c.get("generated_ids")));
            assertThat(search.finishReason()).isEqualTo(
                    c.get("stopped_by").asText().equals("eos") ? FinishReason.EOS : FinishReason.LENGTH);
            List<BeamHypotheses.Hypothesis> hyps = search.hypotheses();
            JsonNode want = c.get("final_hypotheses");
            assertThat(hyps).hasSize(want.size());
            for (int i = 0; i < hyps.size(); i++) {
                JsonNode w = want.get(i);
                BeamHypotheses.Hypothesis h = hyps.get(i);
                assertThat(h.ids()).as("hypothesis %d", i).hasSize(w.get("length").asInt())
                        .endsWith(ints(w.get("generated_ids")));
                assertThat(h.eos()).isEqualTo(w.get("finished_by").asText().equals("eos"));
                assertThat(h.score()).isCloseTo(w.get("score").asDouble(), within(1e-3));
            }
            assertThat((float) hyps.get(0).score()).isCloseTo((float) c.get("sequence_score").asDouble(), within(1e-3f));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void throughThePublicApi(String name, JsonNode c) {
        ChatGLM glm = model(c.get("model").asText());
        int[] generated = ints(c.get("generated_ids"));
        if (c.get("kind").asText().equals("chat")) {
            List<Round> history = new ArrayList<>();
            for (JsonNode pair : c.get("history")) history.add(new Round(pair.get(0).asText(), pair.get(1).asText()));
            List<String> deltas = new ArrayList<>();
            ChatResponse r = glm.streamChat(c.get("query").asText(), history, config(c),
                    (delta, response) -> deltas.add(delta), null);
            assertThat(r.response()).isEqualTo(c.get("response").asText());
            assertThat(r.generation().inputIds()).containsExactly(ints(c.get("input_ids")));
            assertThat(r.generation().generatedIds()).containsExactly(generated);
            // streamChat with beams sends the final text in one piece
            assertThat(deltas).isEqualTo(r.response().isEmpty() ? List.of() : List.of(r.response()));
            assertThat(glm.chat(c.get("query").asText(), history, config(c)).response()).isEqualTo(r.response());
        } else {
            GenerationResult r = glm.generate(ints(c.get("input_ids")), config(c), null, null);
            assertThat(r.generatedIds()).containsExactly(generated);
            assertThat(glm.tokenizer().decodeForChat(r.generatedIds())).isEqualTo(c.get("decoded").asText());
        }
    }

    static Stream<Arguments> greedyGoldens() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("model_a", "model_b")) {
            JsonNode g = Fixtures.json(m + "/generate.json").get("generations");
            for (int i = 0; i < g.size(); i++) out.add(Arguments.of(m + " " + g.get(i).get("name").asText(), m, g.get(i)));
        }
        return out.stream();
    }

    /** transformers picks greedy_search for num_beams 1 whatever length_penalty and early_stopping say. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("greedyGoldens")
    void oneBeamIsExactlyGreedyDecoding(String name, String m, JsonNode g) {
        ChatGLM glm = model("../" + m + "/checkpoint");
        int maxLength = g.get("max_length").asInt();
        GenerationConfig oneBeam = GenerationConfig.greedy(maxLength).withBeams(1, 2.0, true);
        GenerationResult r = glm.generate(ints(g.get("input_ids")), oneBeam, null, null);
        assertThat(r.generatedIds()).containsExactly(ints(g.get("generated_ids")));
        assertThat(r.generatedIds()).containsExactly(
                glm.generate(ints(g.get("input_ids")), GenerationConfig.greedy(maxLength), null, null).generatedIds());
    }

    @org.junit.jupiter.api.Test
    void beamSamplingAndStopStringsAreRefusedBeforeAnyWork() {
        ChatGLM glm = model("../model_a/checkpoint");
        GenerationConfig sampling = GenerationConfig.chatDefaults().withMaxLength(30).withBeams(3, 1.0, false);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> glm.chat("你好", List.of(), sampling))
                .isInstanceOf(org.chatglm4j.ChatGlmException.class).hasMessageContaining("beam sampling");
        GenerationConfig stop = GenerationConfig.greedy(30).withBeams(3, 1.0, false).withStop(List.of("x"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> glm.chat("你好", List.of(), stop))
                .isInstanceOf(org.chatglm4j.ChatGlmException.class).hasMessageContaining("stop strings");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> GenerationConfig.greedy(30).withBeams(0, 1.0, false))
                .isInstanceOf(org.chatglm4j.ChatGlmException.class).hasMessageContaining("num_beams");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> GenerationConfig.greedy(30).withBeams(2, Double.NaN, false))
                .isInstanceOf(org.chatglm4j.ChatGlmException.class).hasMessageContaining("length_penalty");
    }

    @org.junit.jupiter.api.Test
    void cancellationEndsTheSearchWithTheBestBeamSoFar() {
        ChatGLM glm = model("../model_a/checkpoint");
        Cancellation cancel = new Cancellation();
        int[] input = ints(Fixtures.json("beam/beam.json").get("cases").get(0).get("input_ids"));
        int[] steps = {0};
        GenerationResult r;
        try (BeamSearch search = new BeamSearch(glm.model(), input, GenerationConfig.greedy(28).withBeams(3, 1.0, false))) {
            Runner runner = glm.model().newRunner();
            Batch batch = new Batch();
            for (int s = 0; s < 3; s++) {
                batch.clear();
                search.addTo(batch);
                runner.forward(batch, (seg, i, logits, off) -> search.accept(seg, logits, off));
            }
            search.cancel();
            assertThat(search.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(search.generatedIds()).hasSize(3);
        }
        cancel.cancel();
        r = glm.generate(input, GenerationConfig.greedy(28).withBeams(3, 1.0, false), null, cancel);
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(r.generatedIds()).isEmpty();
    }
}
