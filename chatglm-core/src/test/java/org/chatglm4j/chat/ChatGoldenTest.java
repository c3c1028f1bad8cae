package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * Greedy generations and multi-round chat transcripts of the reference (generate.json of model_a and model_b,
 * ptuning.json of both P-tuning fixtures), through the public {@link ChatGLM} API.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChatGoldenTest {
    private final Map<String, ChatGLM> models = new HashMap<>();

    ChatGLM model(String name) {
        return models.computeIfAbsent(name, n -> switch (n) {
            case "model_a", "model_b" -> ChatGLM.load(Fixtures.path(n + "/checkpoint"), LoadOptions.defaults().withThreads(2));
            case "ptuning_a" -> ChatGLM.load(Fixtures.path("model_a/checkpoint"),
                    LoadOptions.defaults().withThreads(2).withPtuning(Fixtures.path("ptuning_a/ptuning_checkpoint")));
            case "ptuning_b" -> ChatGLM.load(Fixtures.path("model_b/checkpoint"),
                    LoadOptions.defaults().withThreads(2).withPtuning(Fixtures.path("ptuning_b/ptuning_checkpoint")));
            default -> throw new IllegalArgumentException(n);
        });
    }

    @AfterAll
    void close() {
        models.values().forEach(ChatGLM::close);
    }

    static String goldenFile(String model) {
        return model.startsWith("ptuning") ? model + "/ptuning.json" : model + "/generate.json";
    }

    static Stream<Arguments> generations() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("model_a", "model_b")) {
            JsonNode g = Fixtures.json(m + "/generate.json").get("generations");
            for (int i = 0; i < g.size(); i++) out.add(Arguments.of(m, g.get(i).get("name").asText(), g.get(i)));
        }
        for (String m : List.of("ptuning_a", "ptuning_b")) {
            JsonNode p = Fixtures.json(m + "/ptuning.json").get("prompts");
            for (int i = 0; i < p.size(); i++) out.add(Arguments.of(m, p.get(i).get("name").asText(), p.get(i).get("generation")));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("generations")
    void greedyGeneration(String m, String name, JsonNode g) {
        ChatGLM glm = model(m);
        int[] input = ints(g.get("input_ids"));
        if (g.has("prompt")) {
            assertThat(glm.tokenizer().encodeForModel(g.get("prompt").asText())).containsExactly(input);
        }
        GenerationResult r = glm.generate(input, GenerationConfig.greedy(g.get("max_length").asInt()), null, null);
        assertThat(r.generatedIds()).containsExactly(ints(g.get("generated_ids")));
        assertThat(r.finishReason()).isEqualTo(g.get("stopped_by").asText().equals("eos") ? FinishReason.EOS : FinishReason.LENGTH);
        assertThat(glm.tokenizer().decodeForChat(r.generatedIds())).isEqualTo(g.get("decoded").asText());
        assertThat(glm.tokenizer().decode(r.generatedIds())).isEqualTo(g.get("decoded_sptokenizer").asText());
        assertThat(ResponsePostprocess.apply(g.get("decoded").asText())).isEqualTo(g.get("response").asText());
    }

    static Stream<Arguments> chats() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("model_a", "model_b", "ptuning_a", "ptuning_b")) {
            JsonNode c = Fixtures.json(goldenFile(m)).get("chats");
            for (int i = 0; i < c.size(); i++) out.add(Arguments.of(m, c.get(i).get("name").asText(), c.get(i)));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("chats")
    void chatTranscriptRoundByRound(String m, String name, JsonNode chat) {
        ChatGLM glm = model(m);
        List<Round> history = List.of();
        for (JsonNode round : chat.get("rounds")) {
            GenerationConfig cfg = GenerationConfig.greedy(round.get("max_length").asInt());
            List<String> streamed = new ArrayList<>();
            StringBuilder deltas = new StringBuilder();
            ChatResponse r = glm.streamChat(round.get("query").asText(), history, cfg, (delta, response) -> {
                deltas.append(delta);
                streamed.add(response);
            }, null);
            String q = round.get("query").asText();
            assertThat(r.response()).as("round %s", q).isEqualTo(round.get("response").asText());
            assertThat(r.generation().inputIds()).containsExactly(ints(round.get("input_ids")));
            assertThat(r.generation().generatedIds()).containsExactly(ints(round.get("output_ids")));
            assertThat(r.droppedRounds()).isZero();
            assertThat(deltas.toString()).as("concatenated deltas").isEqualTo(r.response());
            // the reference's stream_chat yields after every token but the one that ends generation
            assertThat(streamed.subList(0, streamed.size() - 1))
                    .containsExactlyElementsOf(strings(round.get("stream_chat_responses")));
            ChatResponse plain = glm.chat(q, history, cfg);
            assertThat(plain.response()).isEqualTo(r.response());
            history = r.history();
        }
        List<Round> want = new ArrayList<>();
        for (JsonNode pair : chat.get("final_history")) want.add(new Round(pair.get(0).asText(), pair.get(1).asText()));
        assertThat(history).containsExactlyElementsOf(want);
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void processResponseCases() {
        for (JsonNode c : Fixtures.json("model_a/generate.json").get("process_response_cases")) {
            assertThat(ResponsePostprocess.apply(c.get("input").asText())).as(c.get("input").asText())
                    .isEqualTo(c.get("output").asText());
        }
    }

    @Test
    void oldestRoundsAreDroppedWhenTheHistoryDoesNotFit() {
        ChatGLM glm = model("model_a");
        List<Round> history = List.of(new Round("你好", "你好！".repeat(20)), new Round("晚上睡不着应该怎么办", "早点睡"));
        int full = glm.tokenizer().encodeForModel(ChatPrompt.build("Tell me a joke.", history)).length;
        int last = glm.tokenizer().encodeForModel(ChatPrompt.build("Tell me a joke.", history.subList(1, 2))).length;
        ChatResponse r = glm.chat("Tell me a joke.", history, GenerationConfig.greedy(last + 3));
        assertThat(full).isGreaterThan(last + 3);
        assertThat(r.droppedRounds()).isEqualTo(1);
        assertThat(r.promptTokens()).isEqualTo(last);
        assertThat(r.history()).hasSize(3).startsWith(history.get(0), history.get(1));
        assertThat(r.completionTokens()).isBetween(1, 3);
    }

    @Test
    void aQueryThatCannotFitIsAClearError() {
        ChatGLM glm = model("model_a");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> glm.chat("你好".repeat(50), List.of(), GenerationConfig.greedy(10)))
                .isInstanceOf(org.chatglm4j.ChatGlmException.class)
                .hasMessageContaining("no room for a reply");
    }
}
