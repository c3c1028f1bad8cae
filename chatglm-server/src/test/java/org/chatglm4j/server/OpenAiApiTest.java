package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.SamplingSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The OpenAI-compatible endpoints over plain HTTP: replies equal chat()'s, streaming, message mapping, errors. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenAiApiTest {
    private TestEngine engine;
    private ChatServer server;
    private Http http;

    @BeforeAll
    void start() throws IOException {
        engine = new TestEngine(Fixture.model());
        server = ChatServer.start(ServerOptions.defaults().withPort(0).withModelName("glm-test"), engine);
        http = new Http(server.uri());
    }

    @AfterAll
    void stop() {
        server.close();
    }

    @BeforeEach
    void reset() {
        engine.reset();
    }

    static final String CONVERSATION = """
            {"model": "glm-test", "temperature": 0, "max_tokens": 40, "messages": [
              {"role": "user", "content": "你好"},
              {"role": "assistant", "content": "你好！有什么可以帮你的吗？"},
              {"role": "user", "content": "What is the JVM?"}]}""";

    static final List<Round> HISTORY = List.of(new Round("你好", "你好！有什么可以帮你的吗？"));

    @Test
    void listsTheModel() {
        Http.Reply r = http.get("v1/models");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().get("object").asText()).isEqualTo("list");
        assertThat(r.json().get("data").get(0).get("id").asText()).isEqualTo("glm-test");
        assertThat(r.json().get("data").get(0).get("object").asText()).isEqualTo("model");
        assertThat(http.get("v1/models/glm-test").json().get("id").asText()).isEqualTo("glm-test");
        Http.Reply missing = http.get("v1/models/gpt-4");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.json().get("error").get("code").asText()).isEqualTo("not_found");
    }

    @Test
    void greedyReplyIsWhatChatReturns() {
        ChatResponse expected = Fixture.model().chat("What is the JVM?", HISTORY,
                GenerationConfig.greedy(2048).withMaxNewTokens(40));
        Http.Reply r = http.post("v1/chat/completions", CONVERSATION);
        assertThat(r.status()).isEqualTo(200);
        JsonNode j = r.json();
        assertThat(j.get("object").asText()).isEqualTo("chat.completion");
        assertThat(j.get("id").asText()).startsWith("chatcmpl-");
        assertThat(j.get("model").asText()).isEqualTo("glm-test");
        JsonNode choice = j.get("choices").get(0);
        assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
        assertThat(choice.get("message").get("content").asText()).isEqualTo(expected.response());
        assertThat(choice.get("finish_reason").asText()).isEqualTo(expected.finishReason() == FinishReason.LENGTH ? "length" : "stop");
        assertThat(j.get("usage").get("prompt_tokens").asInt()).isEqualTo(expected.promptTokens());
        assertThat(j.get("usage").get("completion_tokens").asInt()).isEqualTo(expected.completionTokens());
        assertThat(j.get("usage").get("total_tokens").asInt()).isEqualTo(expected.promptTokens() + expected.completionTokens());
        assertThat(engine.lastCall().config().sampling()).isEqualTo(SamplingSettings.greedy());
    }

    @Test
    void maxTokensEndsWithLength() {
        ChatResponse expected = Fixture.model().chat("What is the JVM?", HISTORY,
                GenerationConfig.greedy(2048).withMaxNewTokens(3));
        assertThat(expected.finishReason()).isEqualTo(FinishReason.LENGTH);
        JsonNode j = http.post("v1/chat/completions", CONVERSATION.replace("\"max_tokens\": 40", "\"max_completion_tokens\": 3")).json();
        assertThat(j.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
        assertThat(j.get("usage").get("completion_tokens").asInt()).isEqualTo(3);
        assertThat(j.get("choices").get(0).get("message").get("content").asText()).isEqualTo(expected.response());
    }

    @Test
    void samplingWithASeedIsWhatChatReturns() {
        GenerationConfig cfg = new GenerationConfig(2048, 30, new SamplingSettings(true, 0.8, 50, 0.9, 1.0), 1234L, List.of());
        ChatResponse expected = Fixture.model().chat("What is the JVM?", HISTORY, cfg);
        String body = CONVERSATION.replace("\"temperature\": 0", "\"temperature\": 0.8, \"top_p\": 0.9, \"seed\": 1234")
                .replace("\"max_tokens\": 40", "\"max_tokens\": 30");
        JsonNode j = http.post("v1/chat/completions", body).json();
        assertThat(j.get("choices").get(0).get("message").get("content").asText()).isEqualTo(expected.response());
        assertThat(engine.lastCall().config()).isEqualTo(cfg);
    }

    @Test
    void defaultsAreChatDefaults() {
        http.post("v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2}");
        GenerationConfig c = engine.lastCall().config();
        assertThat(c.sampling()).isEqualTo(SamplingSettings.chatDefaults());
        assertThat(c.maxLength()).isEqualTo(2048);
        assertThat(c.maxNewTokens()).isEqualTo(2);
        assertThat(c.seed()).isNull();
    }

    @Test
    void stopStringsEndTheReplyAsChatDoes() {
        String full = Fixture.model().chat("What is the JVM?", HISTORY, GenerationConfig.greedy(2048).withMaxNewTokens(40)).response();
        assertThat(full.length()).as("the fixture model's reply is long enough to cut").isGreaterThan(12);
        String stop = full.substring(8, 11);
        GenerationConfig cfg = GenerationConfig.greedy(2048).withMaxNewTokens(40).withStop(List.of(stop, "never-seen"));
        ChatResponse expected = Fixture.model().chat("What is the JVM?", HISTORY, cfg);
        assertThat(expected.finishReason()).isEqualTo(FinishReason.STOP);
        String body = CONVERSATION.replace("\"max_tokens\": 40", "\"max_tokens\": 40, \"stop\": " + Http.JSON.valueToTree(List.of(stop, "never-seen")));
        JsonNode j = http.post("v1/chat/completions", body).json();
        assertThat(j.get("choices").get(0).get("message").get("content").asText()).isEqualTo(expected.response());
        assertThat(j.get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
        // a single string works too
        String one = CONVERSATION.replace("\"max_tokens\": 40", "\"max_tokens\": 40, \"stop\": " + Http.JSON.valueToTree(stop));
        assertThat(http.post("v1/chat/completions", one).json().get("choices").get(0).get("message").get("content").asText())
                .isEqualTo(expected.response());
        // streamed, the pieces never include text past the stop string
        List<String> events = http.post("v1/chat/completions", one.replace("\"max_tokens\": 40", "\"max_tokens\": 40, \"stream\": true")).events();
        StringBuilder text = new StringBuilder();
        for (String e : events.subList(0, events.size() - 1)) {
            text.append(Http.Reply.parse(e).get("choices").get(0).get("delta").path("content").asText(""));
        }
        assertThat(text.toString()).isEqualTo(expected.response());
        assertThat(Http.Reply.parse(events.get(events.size() - 2)).get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void streamingSendsTheSameReplyInChunks() {
        String plain = http.post("v1/chat/completions", CONVERSATION).json().get("choices").get(0).get("message").get("content").asText();
        Http.Reply r = http.post("v1/chat/completions", CONVERSATION.replace("\"max_tokens\": 40",
                "\"max_tokens\": 40, \"stream\": true, \"stream_options\": {\"include_usage\": true}"));
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<String> events = r.events();
        assertThat(events.getLast()).isEqualTo("[DONE]");
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(Http.Reply::parse).toList();
        String id = chunks.getFirst().get("id").asText();
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            assertThat(c.get("object").asText()).isEqualTo("chat.completion.chunk");
            assertThat(c.get("id").asText()).isEqualTo(id);
            if (!c.get("choices").isEmpty()) text.append(c.get("choices").get(0).get("delta").path("content").asText(""));
        }
        assertThat(chunks.getFirst().get("choices").get(0).get("delta").get("role").asText()).isEqualTo("assistant");
        assertThat(text.toString()).isEqualTo(plain);
        assertThat(chunks.size()).as("several content chunks").isGreaterThan(4);
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertThat(finish.get("choices").get(0).get("finish_reason").asText()).isIn("stop", "length");
        JsonNode usage = chunks.getLast();
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.get("usage").get("prompt_tokens").asInt()).isEqualTo(engine.lastCall().response().promptTokens());
        assertThat(usage.get("usage").get("completion_tokens").asInt()).isEqualTo(engine.lastCall().response().completionTokens());
    }

    @Test
    void streamingWithoutUsageEndsWithTheFinishChunk() {
        List<String> events = http.post("v1/chat/completions", CONVERSATION.replace("\"max_tokens\": 40",
                "\"max_tokens\": 5, \"stream\": true")).events();
        assertThat(events.getLast()).isEqualTo("[DONE]");
        JsonNode last = Http.Reply.parse(events.get(events.size() - 2));
        assertThat(last.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
        for (String e : events.subList(0, events.size() - 1)) assertThat(Http.Reply.parse(e).has("usage")).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            system first        | [{"role":"system","content":"S"},{"role":"user","content":"u"}]                                                     | S\\nu | []
            system with history | [{"role":"system","content":"S"},{"role":"user","content":"u1"},{"role":"assistant","content":"a1"},{"role":"user","content":"u2"}] | u2 | [["S\\nu1","a1"]]
            two systems         | [{"role":"system","content":"A"},{"role":"user","content":"u"},{"role":"developer","content":"B"}]               | A\\nB\\nu | []
            assistant first     | [{"role":"assistant","content":"hello"},{"role":"user","content":"u"}]                                              | u | [["","hello"]]
            users in a row      | [{"role":"user","content":"a"},{"role":"user","content":"b"}]                                                       | a\\nb | []
            text parts          | [{"role":"user","content":[{"type":"text","text":"x"},{"type":"text","text":"y"}]}]                                 | x\\ny | []
            null assistant      | [{"role":"user","content":"q"},{"role":"assistant","content":null},{"role":"user","content":"r"}]                    | r | [["q",""]]
            """)
    void messagesMapOntoRounds(String name, String messages, String query, String history) throws IOException {
        Http.Reply r = http.post("v1/chat/completions", "{\"max_tokens\":1,\"messages\":" + messages + "}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        TestEngine.Call call = engine.lastCall();
        assertThat(call.query()).isEqualTo(query.replace("\\n", "\n"));
        JsonNode h = Http.JSON.readTree(history.replace("\\\\n", "\\n"));
        assertThat(call.history()).hasSize(h.size());
        for (int i = 0; i < h.size(); i++) {
            assertThat(call.history().get(i)).isEqualTo(new Round(h.get(i).get(0).asText(), h.get(i).get(1).asText()));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            invalid json         | {"messages": [                                                           |                  | not valid JSON
            not an object        | [1, 2]                                                                   |                  | JSON object
            trailing garbage     | {"messages": []} x                                                       |                  | not valid JSON
            no messages          | {"model": "m"}                                                           | messages         | messages is required
            messages not a list  | {"messages": "hi"}                                                       | messages         | must be an array
            empty messages       | {"messages": []}                                                         | messages         | must not be empty
            unknown role         | {"messages": [{"role": "tool", "content": "x"}]}                         | messages[0].role | unsupported role 'tool'
            role missing         | {"messages": [{"content": "x"}]}                                         | messages[0].role | must be a string
            ends with assistant  | {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]} | messages | last message must come from the user
            only system          | {"messages": [{"role": "system", "content": "s"}]}                       | messages         | last message must come from the user
            user content null    | {"messages": [{"role": "user", "content": null}]}                        | messages[0].content | is required
            content a number     | {"messages": [{"role": "user", "content": 5}]}                           | messages[0].content | string or a list of text parts
            image part           | {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]} | messages[0].content[0].type | only text content parts
            n is 2               | {"n": 2, "messages": [{"role": "user", "content": "q"}]}                 | n                | only n = 1
            temperature a string | {"temperature": "hot", "messages": [{"role": "user", "content": "q"}]}   | temperature      | must be a number
            temperature too high | {"temperature": 2.5, "messages": [{"role": "user", "content": "q"}]}     | temperature      | between 0 and 2
            top_p negative       | {"top_p": -0.1, "messages": [{"role": "user", "content": "q"}]}          | top_p            | between 0 and 1
            max_tokens zero      | {"max_tokens": 0, "messages": [{"role": "user", "content": "q"}]}        | max_tokens       | at least 1
            max_tokens fraction  | {"max_tokens": 1.5, "messages": [{"role": "user", "content": "q"}]}      | max_tokens       | must be an integer
            seed a string        | {"seed": "x", "messages": [{"role": "user", "content": "q"}]}            | seed             | must be an integer
            stop a number        | {"stop": 5, "messages": [{"role": "user", "content": "q"}]}              | stop             | string or a list
            stop empty string    | {"stop": [""], "messages": [{"role": "user", "content": "q"}]}           | stop             | must not be empty
            stream a string      | {"stream": "yes", "messages": [{"role": "user", "content": "q"}]}        | stream           | true or false
            tools                | {"tools": [{"type": "function"}], "messages": [{"role": "user", "content": "q"}]} | tools   | not supported
            json mode            | {"response_format": {"type": "json_object"}, "messages": [{"role": "user", "content": "q"}]} | response_format | only response_format
            temperature overflow | {"temperature": 1e999, "messages": [{"role": "user", "content": "q"}]}      | temperature      | finite number
            max_tokens too big   | {"max_tokens": 99999999999999999999999, "messages": [{"role": "user", "content": "q"}]} | max_tokens | out of range
            model a number       | {"model": 5, "messages": [{"role": "user", "content": "q"}]}             | model            | must be a string
            """)
    void badRequestsAre400WithAMessage(String name, String body, String param, String message) {
        Http.Reply r = http.post("v1/chat/completions", body);
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        JsonNode err = r.json().get("error");
        assertThat(err.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(err.get("message").asText()).contains(message);
        if (param == null) assertThat(err.get("param").isNull()).isTrue();
        else assertThat(err.get("param").asText()).isEqualTo(param);
        assertThat(engine.calls).isEmpty();
    }

    @Test
    void deeplyNestedOrBrokenJsonIsA400() {
        Http.Reply nested = http.post("v1/chat/completions", "[".repeat(5000) + "]".repeat(5000));
        assertThat(nested.status()).isEqualTo(400);
        assertThat(nested.json().get("error").get("code").asText()).isEqualTo("invalid_json");
        byte[] badUtf8 = {'{', '"', 'm', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        Http.Reply bad = http.postBytes("v1/chat/completions", badUtf8);
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.json().get("error").get("code").asText()).isEqualTo("invalid_json");
        assertThat(engine.seen).isEmpty();
    }

    @Test
    void promptsLongerThanTheContextAreRefused() {
        String longText = "很长的问题。".repeat(1500);
        Http.Reply r = http.post("v1/chat/completions", Map.of("messages", List.of(Map.of("role", "user", "content", longText))));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("error").get("code").asText()).isEqualTo("context_length_exceeded");
        assertThat(r.json().get("error").get("message").asText()).contains("2048");
        // the request may ask for less context than the model has (max_length), and the reply counts too
        Http.Reply small = http.post("v1/chat/completions", "{\"max_length\": 8, \"messages\": [{\"role\": \"user\", \"content\": \"What is the JVM?\"}]}");
        assertThat(small.status()).isEqualTo(400);
        assertThat(small.json().get("error").get("message").asText()).contains("the context is 8 tokens");
        Http.Reply withReply = http.post("v1/chat/completions", "{\"max_tokens\": 2047, \"messages\": [{\"role\": \"user\", \"content\": \"What is the JVM?\"}]}");
        assertThat(withReply.status()).isEqualTo(400);
        assertThat(withReply.json().get("error").get("message").asText()).contains("2047 more are asked");
        assertThat(engine.calls).isEmpty();
    }

    @Test
    void maxLengthExtensionLimitsTheContext() {
        Http.Reply r = http.post("v1/chat/completions", "{\"max_length\": 40, \"temperature\": 0, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(engine.lastCall().config().maxLength()).isEqualTo(40);
        int total = r.json().get("usage").get("total_tokens").asInt();
        assertThat(total).isLessThanOrEqualTo(40);
    }

    @Test
    void unknownRoutesAndMethods() {
        Http.Reply r = http.get("v1/completions");
        assertThat(r.status()).isEqualTo(404);
        assertThat(r.json().get("error").get("message").asText()).contains("/v1/completions");
        Http.Reply m = http.get("v1/chat/completions");
        assertThat(m.status()).isEqualTo(405);
        assertThat(m.json().get("error").get("code").asText()).isEqualTo("method_not_allowed");
        assertThat(http.get("nothing-here").status()).isEqualTo(404);
        assertThat(http.get("../etc/passwd").status()).isIn(400, 404);
    }
}
