package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.Round;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code POST /} as ChatGLM-6B's api.py answers it, and the page at {@code GET /}. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReferenceApiTest {
    private TestEngine engine;
    private ChatServer server;
    private Http http;

    @BeforeAll
    void start() throws IOException {
        engine = new TestEngine(Fixture.model());
        server = ChatServer.start(ServerOptions.defaults().withPort(0), engine);
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

    @Test
    void answersAsApiPyDoes() {
        Http.Reply r = http.post("", "{\"prompt\": \"你好\", \"history\": [], \"max_length\": 40}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode j = r.json();
        assertThat(j.fieldNames()).toIterable().containsExactly("response", "history", "status", "time");
        assertThat(j.get("status").asInt()).isEqualTo(200);
        assertThat(j.get("time").asText()).matches("\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}");
        String response = j.get("response").asText();
        assertThat(response).isEqualTo(engine.lastCall().response().response());
        assertThat(j.get("history").toString()).isEqualTo(Http.JSON.valueToTree(List.of(List.of("你好", response))).toString());
    }

    @Test
    void historyComesBackWithTheNewRound() {
        JsonNode j = http.post("", "{\"prompt\": \"and then?\", \"history\": [[\"q1\", \"r1\"], [\"q2\", \"r2\"]], \"max_length\": 80}").json();
        JsonNode h = j.get("history");
        assertThat(h).hasSize(3);
        assertThat(h.get(0).toString()).isEqualTo("[\"q1\",\"r1\"]");
        assertThat(h.get(1).toString()).isEqualTo("[\"q2\",\"r2\"]");
        assertThat(h.get(2).get(0).asText()).isEqualTo("and then?");
        assertThat(h.get(2).get(1).asText()).isEqualTo(j.get("response").asText());
        assertThat(engine.lastCall().history()).containsExactly(new Round("q1", "r1"), new Round("q2", "r2"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            all missing   | {"prompt": "hi"}
            nulls         | {"prompt": "hi", "history": null, "max_length": null, "top_p": null, "temperature": null}
            zeros         | {"prompt": "hi", "history": [], "max_length": 0, "top_p": 0, "temperature": 0.0}
            other falsy   | {"prompt": "hi", "history": {}, "max_length": false, "top_p": "", "temperature": []}
            """)
    void falsyValuesTakeApiPyDefaults(String name, String body) {
        engine.failWith = new ChatGlmException("stopped by the test after the request was seen");
        http.post("", body);
        GenerationConfig c = engine.lastSeen().config();
        assertThat(c.maxLength()).isEqualTo(2048);
        assertThat(c.maxNewTokens()).isZero();
        assertThat(c.sampling()).isEqualTo(new SamplingSettings(true, 0.95, 50, 0.7, 1.0));
        assertThat(engine.lastSeen().history()).isEmpty();
    }

    @Test
    void givenValuesAreUsed() {
        http.post("", "{\"prompt\": \"hi\", \"max_length\": 30, \"top_p\": 0.5, \"temperature\": 0.3}");
        GenerationConfig c = engine.lastCall().config();
        assertThat(c.maxLength()).isEqualTo(30);
        assertThat(c.sampling()).isEqualTo(new SamplingSettings(true, 0.3, 50, 0.5, 1.0));
    }

    /** fixtures/beam a_chat_hello_nb3 and a_chat_cpu_nb2_lp2_early: the reference chat() with do_sample=False. */
    @Test
    void numBeamsRunsBeamSearch() {
        for (int i : new int[]{0, 3}) {
            JsonNode c = org.chatglm4j.testing.Fixtures.json("beam/beam.json").get("cases").get(i);
            String body = "{\"prompt\": " + Http.JSON.valueToTree(c.get("query").asText()) + ", \"max_length\": "
                    + c.get("max_length").asInt() + ", \"num_beams\": " + c.get("num_beams").asInt()
                    + ", \"length_penalty\": " + c.get("length_penalty").asDouble() + ", \"early_stopping\": "
                    + c.get("early_stopping").asBoolean() + "}";
            Http.Reply r = http.post("", body);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.json().get("response").asText()).isEqualTo(c.get("response").asText());
            GenerationConfig cfg = engine.lastCall().config();
            assertThat(cfg.numBeams()).isEqualTo(c.get("num_beams").asInt());
            assertThat(cfg.sampling().doSample()).isFalse();
        }
        assertThat(http.post("", "{\"prompt\": \"hi\", \"num_beams\": 0}").status()).isEqualTo(400);
        assertThat(http.post("", "{\"prompt\": \"hi\", \"num_beams\": \"3\"}").status()).isEqualTo(400);
    }

    @Test
    void onlyJsonBodiesAreAccepted() {
        // a cross-site page can send text/plain or a form without asking first: those never reach the engine
        String body = "{\"prompt\": \"hi\", \"max_length\": 20}";
        assertThat(http.post("", body, null).status()).isEqualTo(415);
        assertThat(http.post("", body, "text/plain").status()).isEqualTo(415);
        assertThat(http.post("", body, "application/x-www-form-urlencoded").status()).isEqualTo(415);
        assertThat(engine.seen).isEmpty();
        assertThat(http.post("", body, "Application/JSON; charset=utf-8").status()).isEqualTo(200);
    }

    @Test
    void oldestHistoryIsDroppedWhenThePromptIsTooLong() {
        List<List<String>> history = new ArrayList<>();
        for (int i = 0; i < 12; i++) history.add(List.of("question number " + i + " is a long one", "answer number " + i + " is long too"));
        Http.Reply r = http.post("", Map.of("prompt", "last", "history", history, "max_length", 120));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(engine.lastCall().response().droppedRounds()).isPositive();
        assertThat(r.json().get("history")).hasSize(13);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            invalid json        | {"prompt": "hi"                                    | not valid JSON
            not an object       | "hi"                                               | JSON object
            empty body          |                                                    | JSON object
            prompt missing      | {"history": []}                                    | prompt is required
            prompt a number     | {"prompt": 5}                                      | prompt must be a string
            history not a list  | {"prompt": "hi", "history": "abc"}                 | history must be a list
            history bad pair    | {"prompt": "hi", "history": [["q"]]}               | history[0] must be a [query, response] pair
            history bad types   | {"prompt": "hi", "history": [["q", 1]]}            | history[0] must be a [query, response] pair
            max_length a string | {"prompt": "hi", "max_length": "100"}              | max_length must be an integer
            max_length negative | {"prompt": "hi", "max_length": -5}                 | max_length must be at least 1
            top_p a list        | {"prompt": "hi", "top_p": [0.5]}                   | top_p must be a number
            temperature < 0     | {"prompt": "hi", "temperature": -1}                | temperature must be a finite number > 0
            """)
    void badRequestsAre400WithADetail(String name, String body, String message) {
        Http.Reply r = http.post("", body == null ? "" : body);
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().get("detail").asText()).contains(message);
        assertThat(engine.calls).isEmpty();
    }

    @Test
    void aPromptThatCannotFitIsA400() {
        Http.Reply r = http.post("", Map.of("prompt", "long question ".repeat(40), "max_length", 16));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("detail").asText()).contains("no room for a reply");
    }

    @Test
    void getServesThePageAndOtherMethodsAreRefused() {
        Http.Reply page = http.get("");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
        assertThat(page.headers().firstValue("Content-Security-Policy").orElse("")).contains("script-src 'self'");
        assertThat(page.body()).contains("<textarea id=\"input\"");
        assertThat(http.get("app.js").body()).contains("v1/chat/completions");
        assertThat(http.get("markdown.js").status()).isEqualTo(200);
        assertThat(http.get("style.css").headers().firstValue("Content-Type").orElse("")).startsWith("text/css");
        assertThat(http.get("missing.js").status()).isEqualTo(404);
    }
}
