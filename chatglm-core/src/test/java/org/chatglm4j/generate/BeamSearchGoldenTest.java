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
}
