package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.testing.Fixtures;
import org.chatglm4j.tokenizer.Glm2Tokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The text side of the ChatGLM2/3 chat formats against the reference (glm2/ and glm3/ generate.json):
 * process_response cases, the system text with tools (json.dumps indent=4), tool-call parsing.
 */
class ChatFormatGoldenTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void glm2ProcessResponse() {
        JsonNode cases = Fixtures.json("glm2/model/generate.json").get("process_response_cases");
        assertThat(cases.size()).isPositive();
        for (JsonNode c : cases) {
            assertThat(Glm2ChatFormat.processResponse(c.get("input").asText())).as(c.get("input").asText())
                    .isEqualTo(c.get("output").asText());
            ChatFormat.Reply r = Glm2ChatFormat.INSTANCE.postprocess(c.get("input").asText(), List.of());
            assertThat(r.reply().content()).isEqualTo(c.get("output").asText());
        }
    }

    @Test
    void glm3ProcessResponse() {
        JsonNode cases = Fixtures.json("glm3/model/generate.json").get("process_response_cases");
        assertThat(cases.size()).isEqualTo(13);
        for (JsonNode c : cases) {
            List<Message> history = Message.listFromJson(c.get("history"));
            ChatFormat.Reply r = Glm3ChatFormat.INSTANCE.postprocess(c.get("output").asText(), history);
            assertThat(r.reply().toJson()).as(c.get("output").asText()).isEqualTo(c.get("content"));
            ArrayNode returned = JSON.createArrayNode();
            history.forEach(m -> returned.add(m.toJson()));
            r.added().forEach(m -> returned.add(m.toJson()));
            assertThat(returned).as(c.get("output").asText()).isEqualTo(c.get("returned_history"));
        }
    }

    @Test
    void glm3HistoryRoundTripsInTheReferenceShape() {
        for (JsonNode chat : Fixtures.json("glm3/model/generate.json").get("chats")) {
            for (JsonNode round : chat.get("rounds")) {
                ArrayNode back = JSON.createArrayNode();
                Message.listFromJson(round.get("returned_history")).forEach(m -> back.add(m.toJson()));
                assertThat(back.toString()).isEqualTo(round.get("returned_history").toString());
            }
        }
    }

    @Test
    void systemMessageWithToolsIsWrittenAsPythonJsonDumpsIndent4() {
        int checked = 0;
        for (JsonNode chat : Fixtures.json("glm3/model/generate.json").get("chats")) {
            if (!chat.has("system_text")) continue;
            Message system = Message.fromJson(chat.get("initial_history").get(0));
            String text = system.tools() == null ? system.content()
                    : system.content() + "\n" + PythonJson.dumpsIndent4(system.tools());
            assertThat(text).isEqualTo(chat.get("system_text").asText());
            checked++;
        }
        assertThat(checked).isEqualTo(2);
    }

    @Test
    void pythonJsonFormatsScalarsAsPython() throws Exception {
        JsonNode v = JSON.readTree("{\"a\": [], \"b\": {}, \"c\": 1.0, \"d\": 1e-05, \"e\": 12345678901234567890,"
                + " \"f\": \"q\\\"\\\\\\n\\u0001é\", \"g\": [true, null, 2.5e20, 0.0001]}");
        assertThat(PythonJson.dumpsIndent4(v)).isEqualTo("""
                {
                    "a": [],
                    "b": {},
                    "c": 1.0,
                    "d": 1e-05,
                    "e": 12345678901234567890,
                    "f": "q\\"\\\\\\n\\u0001é",
                    "g": [
                        true,
                        null,
                        2.5e+20,
                        0.0001
                    ]
                }""");
    }

    @Test
    void toolCallLiterals() throws Exception {
        assertThat(ToolCallExpression.parse("tool_call()").toString()).isEqualTo("{}");
        assertThat(ToolCallExpression.parse(" tool_call( a = -1 , b=(1,), c=(2), d=\"x\" 'y', e=r'' ,f=None,"
                + " g={'k': [True, False, 1.5]}, h='\\u4e2d\\n', )\n").toString())
                .isEqualTo("{\"a\":-1,\"b\":[1],\"c\":2,\"d\":\"xy\",\"e\":\"\",\"f\":null,"
                        + "\"g\":{\"k\":[true,false,1.5]},\"h\":\"中\\n\"}".replace("\"e\":\"\"", "\"e\":\"\""));
    }

    @Test
    void toolCallsThatAreNotLiteralsAreRefused() {
        for (String bad : List.of("", "print(1)", "tool_call(1)", "tool_call(a=1", "tool_call(a=os.system('x'))",
                "tool_call(a=1, a=2)", "tool_call(a='x)", "tool_call(a=1) + 1", "tool_call(a=[1,)", "tool_call(a=01)")) {
            assertThatThrownBy(() -> ToolCallExpression.parse(bad)).as(bad).isInstanceOf(ChatGlmException.class)
                    .hasMessageContaining("tool_call");
        }
    }

    @Test
    void anUnreadableToolCallKeepsTheTextForFrontEnds() {
        List<Message> history = new ArrayList<>();
        history.add(Message.system("tools:", JSON.createArrayNode()));
        history.add(Message.user("x"));
        assertThatThrownBy(() -> Glm3ChatFormat.INSTANCE.postprocess("track\nnot python", history))
                .isInstanceOfSatisfying(ToolCallException.class, e -> {
                    assertThat(e.fallback().name()).isEqualTo("track");
                    assertThat(e.fallback().content()).isEqualTo("not python");
                    assertThat(e.history()).hasSize(3);
                });
    }

    @Test
    void v1AndV2RefuseRolesTheyDoNotHave() {
        assertThatThrownBy(() -> Glm2ChatFormat.INSTANCE.prepare(null, List.of(Message.system("s"), Message.user("q")),
                Message.user("x"), GenerationConfig.greedy(100)))
                .isInstanceOf(ChatGlmException.class).hasMessageContaining("glm3");
        assertThatThrownBy(() -> Glm1ChatFormat.INSTANCE.prepare(null, List.of(), Message.observation("x"),
                GenerationConfig.greedy(100)))
                .isInstanceOf(ChatGlmException.class).hasMessageContaining("observation");
    }

    @Test
    void glm2PromptCases() {
        PromptTokenizer tok = PromptTokenizer.of(Glm2Tokenizer.load(Fixtures.path("glm2/tokenizer"), false));
        JsonNode cases = Fixtures.json("glm2/tokenizer/tokenizer.json").get("prompt_cases");
        assertThat(cases.size()).isPositive();
        for (JsonNode c : cases) {
            List<Round> history = new ArrayList<>();
            for (JsonNode pair : c.get("history")) history.add(new Round(pair.get(0).asText(), pair.get(1).asText()));
            assertThat(Glm2ChatFormat.buildPrompt(c.get("query").asText(), history)).isEqualTo(c.get("prompt").asText());
            PreparedPrompt p = Glm2ChatFormat.INSTANCE.prepare(tok, Rounds.toMessages(history),
                    Message.user(c.get("query").asText()), GenerationConfig.greedy(100_000));
            assertThat(p.ids()).containsExactly(Fixtures.ints(c.get("input_ids")));
        }
    }

    @Test
    void glm3PromptCases() {
        PromptTokenizer tok = PromptTokenizer.of(Glm2Tokenizer.load(Fixtures.path("glm3/tokenizer"), true));
        int chatInputs = 0, singles = 0;
        for (JsonNode c : Fixtures.json("glm3/tokenizer/tokenizer.json").get("prompt_cases")) {
            if (c.get("function").asText().equals("build_single_message")) {
                Message m = new Message(Role.parse(c.get("role").asText()), c.get("message").asText(),
                        c.get("metadata").asText(), null);
                assertThat(Glm3ChatFormat.message(tok, m)).containsExactly(Fixtures.ints(c.get("ids")));
                singles++;
            } else {
                Message turn = new Message(Role.parse(c.get("role").asText()), c.get("query").asText(), null, null);
                PreparedPrompt p = Glm3ChatFormat.INSTANCE.prepare(tok, Message.listFromJson(c.get("history")), turn,
                        GenerationConfig.greedy(100_000));
                assertThat(p.ids()).as(c.get("query").asText()).containsExactly(Fixtures.ints(c.get("input_ids")));
                chatInputs++;
            }
        }
        assertThat(chatInputs).isEqualTo(8);
        assertThat(singles).isEqualTo(4);
    }

    @Test
    void glm2DropsTheOldestRoundsAndRenumbersTheRest() {
        PromptTokenizer tok = PromptTokenizer.of(Glm2Tokenizer.load(Fixtures.path("glm2/tokenizer"), false));
        List<Round> rounds = List.of(new Round("你好", "你好！".repeat(30)), new Round("晚上睡不着应该怎么办", "早点睡"),
                new Round("Tell me a joke.", "No."));
        Message turn = Message.user("谢谢");
        int[] kept = tok.encodeForModel(Glm2ChatFormat.buildPrompt("谢谢", rounds.subList(1, 3)));
        assertThat(Glm2ChatFormat.buildPrompt("谢谢", rounds.subList(1, 3))).startsWith("[Round 1]\n\n问：晚上");
        PreparedPrompt p = Glm2ChatFormat.INSTANCE.prepare(tok, Rounds.toMessages(rounds), turn,
                GenerationConfig.greedy(kept.length + 2));
        assertThat(p.dropped()).isEqualTo(2);
        assertThat(p.ids()).containsExactly(kept);
        PreparedPrompt all = Glm2ChatFormat.INSTANCE.prepare(tok, Rounds.toMessages(rounds), turn,
                GenerationConfig.greedy(100_000));
        assertThat(all.dropped()).isZero();
        assertThat(all.ids().length).isGreaterThan(kept.length + 2);
    }

    @Test
    void glm3KeepsTheSystemMessageAndDropsWholeExchangesWhenTheHistoryDoesNotFit() {
        PromptTokenizer tok = PromptTokenizer.of(Glm2Tokenizer.load(Fixtures.path("glm3/tokenizer"), true));
        List<Message> history = List.of(Message.system("be brief"), Message.user("你好"), Message.assistant("", "你好！".repeat(30)),
                Message.user("天气"), Message.assistant("get_weather", "```python\ntool_call(city='北京')\n```"),
                Message.observation("{\"t\": 1}"), Message.assistant("", "晴"));
        Message turn = Message.user("谢谢");
        int full = Glm3ChatFormat.INSTANCE.prepare(tok, history, turn, GenerationConfig.greedy(100_000)).ids().length;
        List<Message> kept = new ArrayList<>(history.subList(3, history.size()));
        kept.addFirst(history.getFirst());
        int[] want = Glm3ChatFormat.INSTANCE.prepare(tok, kept, turn, GenerationConfig.greedy(100_000)).ids();
        PreparedPrompt p = Glm3ChatFormat.INSTANCE.prepare(tok, history, turn, GenerationConfig.greedy(want.length + 1));
        assertThat(full).isGreaterThan(want.length + 1);
        assertThat(p.dropped()).isEqualTo(2);
        assertThat(p.ids()).containsExactly(want);
        assertThatThrownBy(() -> Glm3ChatFormat.INSTANCE.prepare(tok, history, turn, GenerationConfig.greedy(5)))
                .isInstanceOf(ChatGlmException.class).hasMessageContaining("no room for a reply");
    }
}
