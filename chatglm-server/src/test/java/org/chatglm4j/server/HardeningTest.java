package org.chatglm4j.server;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.EngineFailureException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 10: limits before work, JSON-only bodies, generic 500s, /health while the engine cannot serve, bounded
 * asset cache, Host/Origin allow-list, connection limits and slow clients.
 */
class HardeningTest {
    private final List<ChatServer> servers = new ArrayList<>();
    private TestEngine engine;

    private Http start(ServerOptions options) throws IOException {
        engine = new TestEngine(Fixture.model());
        ChatServer s = ChatServer.start(options.withPort(0), engine);
        servers.add(s);
        return new Http(s.uri());
    }

    @AfterEach
    void stop() {
        servers.forEach(ChatServer::close);
    }

    private int port() {
        return servers.getLast().port();
    }

    @Test
    void aFloodOfEmptyHistoryRoundsIsRefusedBeforeAnyWork() throws IOException {
        Http http = start(ServerOptions.defaults());
        StringBuilder body = new StringBuilder("{\"prompt\": \"hi\", \"max_length\": 5, \"history\": [");
        for (int i = 0; i < 100_000; i++) body.append(i == 0 ? "" : ",").append("[\"\",\"\"]");
        body.append("]}");
        long t0 = System.nanoTime();
        Http.Reply r = http.post("", body.toString());
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.body()).contains("at most 1024");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        assertThat(engine.seen).isEmpty();

        StringBuilder messages = new StringBuilder("{\"messages\": [");
        for (int i = 0; i < 2000; i++) messages.append(i == 0 ? "" : ",").append("{\"role\":\"user\",\"content\":\"\"}");
        messages.append("]}");
        r = http.post("v1/chat/completions", messages.toString());
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().get("error").get("code").asText()).isEqualTo("too_many_messages");
        assertThat(engine.seen).isEmpty();
    }

    @Test
    void tooManyCharactersAreRefusedBeforeTokenizing() throws IOException {
        Http http = start(ServerOptions.defaults().withLimits(ServerLimits.defaults().withMaxChars(100)));
        String longText = "x".repeat(101);
        Http.Reply r = http.post("", "{\"prompt\": \"" + longText + "\"}");
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        r = http.post("v1/chat/completions", "{\"messages\": [{\"role\":\"user\",\"content\":\"" + longText + "\"}]}");
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.json().get("error").get("code").asText()).isEqualTo("request_too_long");
        assertThat(engine.seen).isEmpty();
        assertThat(http.post("", "{\"prompt\": \"" + "x".repeat(50) + "\", \"max_length\": 200}").status()).isEqualTo(200);
    }

    @Test
    void maxLengthAndMaxTokensAreBoundByTheContext() throws IOException {
        Http http = start(ServerOptions.defaults());
        // reference API: capped at the model's context (2048), not a KV cache growing to 10^9
        engine.failWith = new ChatGlmException("stopped by the test after the request was seen");
        http.post("", "{\"prompt\": \"hi\", \"max_length\": 1000000000}");
        assertThat(engine.lastSeen().config().maxLength()).isEqualTo(2048);
        engine.reset();
        Http.Reply r = http.post("v1/chat/completions",
                "{\"max_tokens\": 1000000000, \"messages\": [{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.json().get("error").get("code").asText()).isEqualTo("context_length_exceeded");
        assertThat(engine.seen).isEmpty();
    }

    @Test
    void postBodiesMustBeJson() throws IOException {
        Http http = start(ServerOptions.defaults());
        String ask = "{\"max_tokens\": 3, \"messages\": [{\"role\":\"user\",\"content\":\"hi\"}]}";
        Http.Reply r = http.post("v1/chat/completions", ask, "text/plain;charset=UTF-8");
        assertThat(r.status()).isEqualTo(415);
        assertThat(r.json().get("error").get("code").asText()).isEqualTo("unsupported_media_type");
        assertThat(http.post("v1/chat/completions", ask, "multipart/form-data; boundary=x").status()).isEqualTo(415);
        assertThat(engine.seen).isEmpty();
        assertThat(http.post("v1/chat/completions", ask, "application/json").status()).isEqualTo(200);
    }

    @Test
    void engineFailuresAreAGeneric500AndRequestErrorsStay400() throws IOException {
        Http http = start(ServerOptions.defaults());
        engine.failWith = new EngineFailureException("generation failed: java.lang.OutOfMemoryError: secret detail", null);
        Http.Reply r = http.post("", "{\"prompt\": \"hi\"}");
        assertThat(r.status()).isEqualTo(500);
        assertThat(r.body()).doesNotContain("secret").doesNotContain("OutOfMemory");
        r = http.post("v1/chat/completions", "{\"messages\": [{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.status()).isEqualTo(500);
        assertThat(r.json().get("error").get("type").asText()).isEqualTo("server_error");
        assertThat(r.body()).doesNotContain("secret");
        r = http.post("v1/chat/completions", "{\"stream\": true, \"messages\": [{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.status()).isEqualTo(500);
        assertThat(r.body()).doesNotContain("secret");
        engine.failWith = new ChatGlmException("the query is too long");
        assertThat(http.post("", "{\"prompt\": \"hi\"}").status()).isEqualTo(400);
    }

    @Test
    void healthIs503WhileTheEngineCannotServe() throws IOException {
        Http http = start(ServerOptions.defaults());
        assertThat(http.get("health").status()).isEqualTo(200);
        engine.healthy = false;
        Http.Reply r = http.get("health");
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.json().get("status").asText()).isEqualTo("unhealthy");
        engine.healthy = true;
        assertThat(http.get("health").json().get("status").asText()).isEqualTo("ok");
    }

    @Test
    void unknownAssetNamesAreNotCached() {
        WebAssets web = new WebAssets();
        for (int i = 0; i < 1000; i++) assertThat(web.find("x" + i + ".js")).isNull();
        assertThat(web.cached()).isZero();
        assertThat(web.find("app.js")).isNotNull();
        assertThat(web.cached()).isEqualTo(1);
    }

    /** One raw HTTP/1.1 exchange with the given extra header lines; returns the status code. */
    private int raw(String method, String path, String headers) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port())) {
            s.setSoTimeout(10_000);
            String req = method + " " + path + " HTTP/1.1\r\n" + headers + "Connection: close\r\n\r\n";
            s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
            String head = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            return Integer.parseInt(head.substring(9, 12));
        }
    }

    @Test
    void hostAndOriginMustBeAllowed() throws IOException {
        start(ServerOptions.defaults().withAllowedOrigins(List.of("https://app.example")));
        int p = port();
        assertThat(raw("GET", "/health", "Host: 127.0.0.1:" + p + "\r\n")).isEqualTo(200);
        assertThat(raw("GET", "/health", "Host: localhost:" + p + "\r\n")).isEqualTo(200);
        // DNS rebinding: a page on attacker.example whose name now points at 127.0.0.1
        assertThat(raw("GET", "/v1/models", "Host: attacker.example:" + p + "\r\n")).isEqualTo(403);
        assertThat(raw("GET", "/v1/models", "Host: 127.0.0.1:" + p + "\r\nOrigin: http://attacker.example\r\n"))
                .isEqualTo(403);
        assertThat(raw("GET", "/v1/models", "Host: 127.0.0.1:" + p + "\r\nOrigin: null\r\n")).isEqualTo(403);
        // the page's own origin, and an allowed one (with a CORS preflight)
        assertThat(raw("GET", "/v1/models", "Host: 127.0.0.1:" + p + "\r\nOrigin: http://127.0.0.1:" + p + "\r\n"))
                .isEqualTo(200);
        assertThat(raw("GET", "/v1/models", "Host: 127.0.0.1:" + p + "\r\nOrigin: https://app.example\r\n"))
                .isEqualTo(200);
        assertThat(raw("OPTIONS", "/v1/chat/completions", "Host: 127.0.0.1:" + p
                + "\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: POST\r\n")).isEqualTo(204);
        assertThat(raw("GET", "/health", "Host: app.example\r\n")).isEqualTo(200);
    }

    @Test
    void aServerOnTheNetworkAcceptsAnyHostButStillChecksOrigins() throws IOException {
        start(ServerOptions.defaults().withHost("0.0.0.0"));
        int p = port();
        assertThat(raw("GET", "/health", "Host: box.lan:" + p + "\r\n")).isEqualTo(200);
        assertThat(raw("GET", "/health", "Host: box.lan:" + p + "\r\nOrigin: http://box.lan:" + p + "\r\n")).isEqualTo(200);
        assertThat(raw("GET", "/health", "Host: box.lan:" + p + "\r\nOrigin: http://evil.example\r\n")).isEqualTo(403);
    }

    @Test
    void connectionsBeyondTheLimitWaitUntilOneCloses() throws Exception {
        start(ServerOptions.defaults().withLimits(ServerLimits.defaults().withMaxConnections(2)));
        try (Socket a = new Socket("127.0.0.1", port()); Socket b = new Socket("127.0.0.1", port())) {
            Thread.sleep(200);   // both accepted: the limit is reached
            try (Socket c = new Socket("127.0.0.1", port())) {
                c.setSoTimeout(1000);
                c.getOutputStream().write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                boolean answered;
                try {
                    answered = c.getInputStream().read() >= 0;
                } catch (SocketTimeoutException e) {
                    answered = false;
                }
                assertThat(answered).as("a third connection is served while two are open").isFalse();
                a.close();
                c.setSoTimeout(10_000);
                byte[] head = c.getInputStream().readNBytes(12);
                assertThat(new String(head, StandardCharsets.US_ASCII)).endsWith("200");
            }
        }
    }

    @Test
    void aClientThatTricklesItsHeadersIsCutOff() throws Exception {
        start(ServerOptions.defaults().withLimits(ServerLimits.defaults().withHeaderTimeout(Duration.ofSeconds(1))));
        try (Socket s = new Socket("127.0.0.1", port())) {
            s.setSoTimeout(200);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            byte[] head = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".getBytes(StandardCharsets.US_ASCII);
            long t0 = System.nanoTime();
            boolean closed = false;
            for (int i = 0; i < head.length && !closed; i++) {
                try {
                    out.write(head[i]);
                    out.flush();
                    closed = in.read() < 0;
                } catch (SocketTimeoutException e) {
                    // nothing yet: keep trickling
                } catch (IOException e) {
                    closed = true;
                }
            }
            assertThat(closed).as("connection closed while the head was still trickling in").isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
        }
        // a well-behaved client on a fresh connection is served as usual
        assertThat(raw("GET", "/health", "Host: 127.0.0.1\r\n")).isEqualTo(200);
    }
}
