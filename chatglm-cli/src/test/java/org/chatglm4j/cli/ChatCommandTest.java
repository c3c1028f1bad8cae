package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.ChatPrompt;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.testing.Fixtures;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code chatglm chat} from pipes: JSON lines against the reference chat transcripts, plain lines, bad lines. */
class ChatCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Arguments> transcripts() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("model_a", "model_b", "ptuning_a", "ptuning_b")) {
            String file = m.startsWith("ptuning") ? m + "/ptuning.json" : m + "/generate.json";
            for (JsonNode c : Fixtures.json(file).get("chats")) out.add(Arguments.of(m, c.get("name").asText(), c));
        }
        return out.stream();
    }

    static String[] args(String m, String... rest) {
        return Stream.concat(Stream.concat(Stream.of("chat"), Stream.of(LogitsCommandTest.modelArgs(m))),
                Stream.concat(Stream.of("--threads", Cli.THREADS), Stream.of(rest))).toArray(String[]::new);
    }

    static String line(Object... keyValues) throws Exception {
        ObjectNode o = JSON.createObjectNode();
        for (int i = 0; i < keyValues.length; i += 2) o.set((String) keyValues[i], JSON.valueToTree(keyValues[i + 1]));
        return JSON.writeValueAsString(o) + "\n";
    }

    /**
     * Each round's max_length through the per-line override; greedy through --greedy for the models and through
     * "do_sample": false (over chat's sampling default) for the P-tuning fixtures.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("transcripts")
    void jsonLinesReproduceTheReferenceTranscript(String m, String name, JsonNode chat) throws Exception {
        boolean flag = !m.startsWith("ptuning");
        StringBuilder in = new StringBuilder();
        for (JsonNode round : chat.get("rounds")) {
            in.append(flag ? line("query", round.get("query").asText(), "max_length", round.get("max_length").asInt())
                    : line("query", round.get("query").asText(), "max_length", round.get("max_length").asInt(),
                    "do_sample", false));
        }
        Cli.Result r = flag ? Cli.run(in.toString(), args(m, "--json", "--greedy"))
                : Cli.run(in.toString(), args(m, "--json"));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        List<String> lines = r.outLines();
        assertThat(lines).hasSize(chat.get("rounds").size());
        ArrayNode history = JSON.createArrayNode();
        for (int i = 0; i < lines.size(); i++) {
            JsonNode round = chat.get("rounds").get(i);
            JsonNode got = JSON.readTree(lines.get(i));
            assertThat(got.fieldNames()).toIterable().containsExactly("query", "response", "history");
            assertThat(got.get("query").asText()).isEqualTo(round.get("query").asText());
            assertThat(got.get("response").asText()).as("round %d", i).isEqualTo(round.get("response").asText());
            history.addArray().add(round.get("query").asText()).add(round.get("response").asText());
            assertThat(got.get("history")).isEqualTo(history);
        }
        assertThat(JSON.readTree(lines.getLast()).get("history")).isEqualTo(chat.get("final_history"));
    }

    @Test
    void aHistoryOnTheLineReplacesTheConversation() throws Exception {
        JsonNode rounds = Fixtures.json("model_a/generate.json").get("chats").get(0).get("rounds");
        List<List<String>> past = List.of(List.of(rounds.get(0).get("query").asText(), rounds.get(0).get("response").asText()));
        String in = line("query", "something else first", "max_length", 30)
                + line("query", rounds.get(1).get("query").asText(), "max_length", rounds.get(1).get("max_length").asInt(),
                "history", past);
        Cli.Result r = Cli.run(in, args("model_a", "--json", "--greedy"));
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode second = JSON.readTree(r.outLines().get(1));
        assertThat(second.get("response").asText()).isEqualTo(rounds.get(1).get("response").asText());
        assertThat(second.get("history")).hasSize(2);
        assertThat(second.get("history").get(0).get(0).asText()).isEqualTo(rounds.get(0).get("query").asText());
    }

    @Test
    void plainPipedChatPrintsOneReplyPerQueryAndKeepsTheHistory() {
        JsonNode rounds = Fixtures.json("model_a/generate.json").get("chats").get(0).get("rounds");
        StringBuilder in = new StringBuilder();
        rounds.forEach(q -> in.append(q.get("query").asText()).append('\n'));
        Cli.Result r = Cli.run(in.toString(), args("model_a", "--greedy", "--max-length", "130"));
        assertThat(r.status()).as(r.err()).isZero();
        // the rounds are long for max_length 130 (the reference transcript raises it round by round)
        assertThat(r.errLines()).containsExactly(
                "chatglm: note: the oldest round of the conversation no longer fit in max_length 130 and was left out of the prompt",
                "chatglm: note: the 2 oldest rounds of the conversation no longer fit in max_length 130 and were left out of the prompt");
        // the same conversation through the library
        StringBuilder want = new StringBuilder();
        try (ChatGLM glm = ChatGLM.load(Fixtures.path("model_a/checkpoint"), LoadOptions.defaults().withThreads(2))) {
            List<Round> history = List.of();
            for (JsonNode q : rounds) {
                ChatResponse c = glm.chat(q.get("query").asText(), history, GenerationConfig.greedy(130));
                want.append(c.response()).append('\n');
                history = c.history();
            }
        }
        assertThat(r.out()).isEqualTo(want.toString());
    }

    @Test
    void plainPipedFirstRoundMatchesTheReference() {
        JsonNode round = Fixtures.json("model_b/generate.json").get("chats").get(0).get("rounds").get(0);
        Cli.Result r = Cli.run(round.get("query").asText() + "\n\n", args("model_b", "--greedy", "--max-length",
                round.get("max_length").asText()));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(round.get("response").asText() + "\n");
    }

    @Test
    void badLinesGetErrorObjectsAndLeaveTheConversationAlone() throws Exception {
        JsonNode rounds = Fixtures.json("model_a/generate.json").get("chats").get(0).get("rounds");
        String in = line("query", rounds.get(0).get("query").asText(), "max_length", rounds.get(0).get("max_length").asInt())
                + "{\"query\": \n"
                + line("query", "x", "max_length", "20")
                + line("max_length", 20)
                + line("query", "x", "history", List.of(List.of("only one")))
                + line("query", "x", "top_p", 0)
                + line("query", "x", "do_sample", "no")
                + line("query", "你好".repeat(40), "max_length", 10, "history", List.of())
                + line("query", rounds.get(1).get("query").asText(), "max_length", rounds.get(1).get("max_length").asInt());
        Cli.Result r = Cli.run(in, args("model_a", "--json", "--greedy"));
        assertThat(r.status()).isEqualTo(1);
        List<String> out = r.outLines();
        assertThat(out).hasSize(9);
        String[] expected = {null, "invalid JSON", "max_length must be an integer", "\"query\" is missing",
                "history[0] must be a [query, response] pair", "top_p must be > 0", "do_sample must be true or false",
                "no room for a reply", null};
        for (int i = 1; i <= 7; i++) {
            JsonNode e = JSON.readTree(out.get(i));
            assertThat(e.fieldNames()).toIterable().containsExactly("error");
            assertThat(e.get("error").asText()).startsWith("line " + (i + 1) + ": ").contains(expected[i]);
        }
        // the failed lines did not touch the conversation: round 2 continues round 1 as in the reference
        JsonNode last = JSON.readTree(out.get(8));
        assertThat(last.get("response").asText()).isEqualTo(rounds.get(1).get("response").asText());
        assertThat(last.get("history")).hasSize(2);
        assertThat(r.errLines()).hasSize(7).allMatch(l -> l.startsWith("chatglm: error: line "));
    }

    @Test
    void unknownKeysAreIgnoredWithOneWarning() throws Exception {
        JsonNode round = Fixtures.json("model_a/generate.json").get("chats").get(0).get("rounds").get(0);
        String l = line("query", round.get("query").asText(), "max_length", round.get("max_length").asInt(), "name", "x");
        Cli.Result r = Cli.run(l + l, args("model_a", "--json", "--greedy"));
        assertThat(r.status()).isZero();
        assertThat(r.errLines()).filteredOn(e -> e.contains("warning")).singleElement().asString()
                .startsWith("chatglm: warning: ignoring unknown key \"name\"");
        assertThat(JSON.readTree(r.outLines().get(0)).get("response").asText()).isEqualTo(round.get("response").asText());
    }

    @Test
    void droppedRoundsAreReportedOnStderr() throws Exception {
        ChatGlmTokenizer tok = ChatGlmTokenizer.load(Fixtures.path("model_a/checkpoint"));
        List<Round> history = List.of(new Round("你好", "你好！".repeat(20)), new Round("晚上睡不着应该怎么办", "早点睡"));
        int last = tok.encodeForModel(ChatPrompt.build("Tell me a joke.", history.subList(1, 2))).length;
        List<List<String>> h = history.stream().map(x -> List.of(x.query(), x.response())).toList();
        Cli.Result r = Cli.run(line("query", "Tell me a joke.", "history", h, "max_length", last + 3),
                args("model_a", "--json", "--greedy"));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.errLines()).singleElement().asString().isEqualTo("chatglm: note: the oldest round of the "
                + "conversation no longer fit in max_length " + (last + 3) + " and was left out of the prompt");
        assertThat(JSON.readTree(r.out()).get("history")).hasSize(3);
    }

    @Test
    void stopStringsEndTheReply() throws Exception {
        JsonNode round = Fixtures.json("model_a/generate.json").get("chats").get(0).get("rounds").get(0);
        String full = round.get("response").asText();
        String stop = full.substring(3, 5);
        Cli.Result r = Cli.run(line("query", round.get("query").asText(), "max_length", round.get("max_length").asInt()),
                args("model_a", "--json", "--greedy", "--stop", stop));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(JSON.readTree(r.out()).get("response").asText()).isEqualTo(full.substring(0, full.indexOf(stop)));
    }
}
