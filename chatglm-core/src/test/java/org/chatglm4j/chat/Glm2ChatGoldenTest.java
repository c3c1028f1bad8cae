package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
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
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * ChatGLM2-6B and ChatGLM3-6B chat() and stream_chat() transcripts of the reference (glm2/ and glm3/
 * generate.json, and the chats of ptuning.json), through the public {@link ChatGLM} API: v2 with (query, response)
 * rounds, v3 with messages, roles, a system prompt and tools.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Glm2ChatGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Map<String, ChatGLM> models = new HashMap<>();

    ChatGLM model(String name) {
        return models.computeIfAbsent(name, n -> {
            String family = n.substring(0, 4);
            LoadOptions o = LoadOptions.defaults().withThreads(2);
            if (n.endsWith("ptuning")) o = o.withPtuning(Fixtures.path(family + "/ptuning/ptuning_checkpoint"));
            // the chat format is detected: config.json's _name_or_path is oracle/glm2-public or oracle/glm3-public
            ChatGLM glm = ChatGLM.load(Fixtures.path(family + "/model/checkpoint"), o);
            assertThat(glm.chatTemplate().name()).isEqualTo(family);
            return glm;
        });
    }

    @AfterAll
    void close() {
        models.values().forEach(ChatGLM::close);
    }

    static Stream<Arguments> chats() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("glm2", "glm3")) {
            JsonNode c = Fixtures.json(m + "/model/generate.json").get("chats");
            for (int i = 0; i < c.size(); i++) out.add(Arguments.of(m, c.get(i).get("name").asText(), c.get(i)));
            JsonNode p = Fixtures.json(m + "/ptuning/ptuning.json").get("chats");
            for (int i = 0; i < p.size(); i++) out.add(Arguments.of(m + "-ptuning", p.get(i).get("name").asText(), p.get(i)));
        }
        return out.stream();
    }

    /** Every round of a transcript: prompt ids, generated ids, response and returned history, plain and streamed. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("chats")
    void chatTranscriptRoundByRound(String m, String name, JsonNode chat) {
        ChatGLM glm = model(m);
        for (JsonNode round : chat.get("rounds")) {
            GenerationConfig cfg = GenerationConfig.greedy(round.get("max_length").asInt());
            String q = round.get("query").asText();
            if (m.startsWith("glm2")) {
                List<Round> history = rounds(round.get("history"));
                StringBuilder deltas = new StringBuilder();
                ChatResponse r = glm.streamChat(q, history, cfg, (d, full) -> deltas.append(d), null);
                assertThat(r.response()).as("%s round %s", name, q).isEqualTo(round.get("response").asText());
                assertThat(r.generation().inputIds()).containsExactly(ints(round.get("input_ids")));
                assertThat(r.generation().generatedIds()).containsExactly(ints(round.get("output_ids")));
                assertThat(deltas.toString()).isEqualTo(r.response());
                assertThat(r.history()).containsExactlyElementsOf(rounds(round.get("returned_history")));
                assertThat(glm.chat(q, history, cfg).response()).isEqualTo(r.response());
            } else {
                List<Message> history = Message.listFromJson(round.get("history"));
                Message turn = new Message(Role.parse(round.get("role").asText()), q, null, null);
                ConversationResponse r = glm.chat(history, turn, cfg);
                assertThat(r.reply().toJson()).as("%s round %s", name, q).isEqualTo(round.get("response"));
                assertThat(r.generation().inputIds()).containsExactly(ints(round.get("input_ids")));
                assertThat(r.generation().generatedIds()).containsExactly(ints(round.get("output_ids")));
                assertThat(json(r.history())).isEqualTo(round.get("returned_history"));
                assertThat(r.finishReason()).isEqualTo(round.get("stopped_by").asText().equals("eos")
                        ? FinishReason.EOS : FinishReason.LENGTH);
            }
        }
    }

    static Stream<Arguments> streamChats() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("glm2", "glm3")) {
            JsonNode c = Fixtures.json(m + "/model/generate.json").get("stream_chats");
            for (int i = 0; i < c.size(); i++) {
                if (!c.get(i).get("past_key_values").asBoolean()) out.add(Arguments.of(m, c.get(i).get("name").asText(), c.get(i)));
            }
        }
        return out.stream();
    }

    /**
     * stream_chat: the responses it yields, in order. The listener is called at each step the reference yields at
     * (counted here from the generated ids with the format's rule: decoded text non-empty, not ending in U+FFFD),
     * plus at most one final call that flushes text held back, carrying the final response.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("streamChats")
    void streamChatYields(String m, String name, JsonNode chat) {
        ChatGLM glm = model(m);
        for (JsonNode round : chat.get("rounds")) {
            GenerationConfig cfg = GenerationConfig.greedy(round.get("max_length").asInt());
            String q = round.get("query").asText();
            List<String> yielded = new ArrayList<>();
            ChatListener listener = (delta, full) -> yielded.add(full);
            List<String> want = new ArrayList<>();
            round.get("yielded_responses").forEach(n -> want.add(n.asText()));
            String response;
            if (m.equals("glm2")) {
                ChatResponse r = glm.streamChat(q, rounds(round.get("history")), cfg, listener, null);
                assertThat(r.generation().generatedIds()).containsExactly(ints(round.get("output_ids")));
                assertThat(r.history()).containsExactlyElementsOf(rounds(round.get("final_history")));
                response = r.response();
            } else {
                ConversationResponse r = glm.streamChat(Message.listFromJson(round.get("history")), Message.user(q), cfg,
                        listener, null);
                assertThat(r.generation().generatedIds()).containsExactly(ints(round.get("output_ids")));
                JsonNode finalHistory = round.get("final_history");
                // with nothing yielded the reference's last history is the one without the reply
                if (!want.isEmpty()) assertThat(json(r.history())).isEqualTo(finalHistory);
                else assertThat(json(r.history().subList(0, finalHistory.size()))).isEqualTo(finalHistory);
                response = r.reply().content();
            }
            int[] out = ints(round.get("output_ids"));
            int steps = 0;
            for (int n = 1; n <= out.length; n++) {
                int keep = Math.max(0, n - glm.chatTemplate().droppedTail());
                if (glm.chatTemplate().yields(glm.promptTokenizer().decode(java.util.Arrays.copyOf(out, keep)))) steps++;
            }
            assertThat(steps).isEqualTo(want.size());
            assertThat(yielded.subList(0, steps)).as("%s %s", name, q).containsExactlyElementsOf(want);
            assertThat(yielded.size()).isLessThanOrEqualTo(steps + 1);
            if (yielded.size() > steps) assertThat(yielded.getLast()).isEqualTo(response);
        }
    }

    static Stream<Arguments> cachedStreamChats() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("glm2", "glm3")) {
            JsonNode c = Fixtures.json(m + "/model/generate.json").get("stream_chats");
            for (int i = 0; i < c.size(); i++) {
                if (c.get(i).get("past_key_values").asBoolean()) out.add(Arguments.of(m, c.get(i).get("name").asText(), c.get(i)));
            }
        }
        return out.stream();
    }

    /** cli_demo.py's loop: each round feeds only its new ids on top of the kept cache. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cachedStreamChats")
    void streamChatWithPastKeyValues(String m, String name, JsonNode chat) {
        ChatGLM glm = model(m);
        try (CachedConversation conv = glm.openConversation(List.of())) {
            for (JsonNode round : chat.get("rounds")) {
                assertThat(conv.pastLength()).isEqualTo(round.get("past_length_at_start").asInt());
                GenerationConfig cfg = GenerationConfig.greedy(round.get("max_length").asInt());
                List<String> yielded = new ArrayList<>();
                ConversationResponse r = conv.streamChat(Message.user(round.get("query").asText()), cfg,
                        (d, full) -> yielded.add(full), null);
                assertThat(r.generation().inputIds()).containsExactly(ints(round.get("input_ids")));
                assertThat(r.generation().generatedIds()).containsExactly(ints(round.get("output_ids")));
                List<String> want = new ArrayList<>();
                round.get("yielded_responses").forEach(n -> want.add(n.asText()));
                assertThat(yielded.subList(0, Math.min(want.size(), yielded.size()))).containsExactlyElementsOf(want);
                assertThat(yielded.size()).isBetween(want.size(), want.size() + 1);
                if (m.equals("glm2")) {
                    List<Round> got = new ArrayList<>();
                    for (int i = 0; i + 1 < r.history().size(); i += 2) {
                        got.add(new Round(r.history().get(i).content(), r.history().get(i + 1).content()));
                    }
                    assertThat(got).containsExactlyElementsOf(rounds(round.get("final_history")));
                } else {
                    assertThat(json(r.history())).isEqualTo(round.get("final_history"));
                }
                assertThat(conv.pastLength()).isEqualTo(round.get("returned_past_length").asInt());
            }
        }
    }

    static List<Round> rounds(JsonNode pairs) {
        List<Round> out = new ArrayList<>();
        for (JsonNode p : pairs) out.add(new Round(p.get(0).asText(), p.get(1).asText()));
        return out;
    }

    static ArrayNode json(List<Message> messages) {
        ArrayNode a = JSON.createArrayNode();
        messages.forEach(x -> a.add(x.toJson()));
        return a;
    }
}
