package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.EngineBusyException;
import org.chatglm4j.generate.FinishReason;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** API keys, body limits, admission (queue full), time limits, vanished clients, failing engines, junk input. */
class ServerSafetyTest {
    private static final String ASK = "{\"max_tokens\": %d, \"temperature\": 0, %s \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";
    private final List<ChatServer> servers = new ArrayList<>();
    private TestEngine engine;

    private Http start(ServerOptions options) throws IOException {
        engine = new TestEngine(Fixture.model());
        ChatServer s = ChatServer.start(options.withPort(0), engine);
        servers.add(s);
        return new Http(s.uri());
    }

    private URI uri() {
        return servers.getLast().uri();
    }

    @AfterEach
    void stop() {
        if (engine != null && engine.gate != null) engine.gate.release(100);
        servers.forEach(ChatServer::close);
    }

    static String ask(int maxTokens, boolean stream) {
        return ASK.formatted(maxTokens, stream ? "\"stream\": true," : "");
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(10);
        }
    }

    private JsonNode health(Http http) {
        return http.get("health").json();
    }

    @Test
    void apiKeyProtectsTheApiButNotThePage() throws IOException {
        Http anonymous = start(ServerOptions.defaults().withApiKey("s3cret"));
        Http wrong = new Http(uri(), "guess");
        Http right = new Http(uri(), "s3cret");
        for (Http h : List.of(anonymous, wrong)) {
            Http.Reply r = h.post("v1/chat/completions", ask(2, false));
            assertThat(r.status()).isEqualTo(401);
            assertThat(r.json().get("error").get("code").asText()).isEqualTo("invalid_api_key");
            assertThat(r.headers().firstValue("WWW-Authenticate")).contains("Bearer");
            assertThat(h.get("v1/models").status()).isEqualTo(401);
            Http.Reply ref = h.post("", "{\"prompt\": \"hi\", \"max_length\": 20}");
            assertThat(ref.status()).isEqualTo(401);
            assertThat(ref.json().get("detail").asText()).contains("API key");
        }
        assertThat(engine.seen).isEmpty();
        assertThat(right.post("v1/chat/completions", ask(2, false)).status()).isEqualTo(200);
        assertThat(right.post("", "{\"prompt\": \"hi\", \"max_length\": 20}").status()).isEqualTo(200);
        assertThat(right.get("v1/models").status()).isEqualTo(200);
        assertThat(anonymous.get("").status()).isEqualTo(200);
        assertThat(anonymous.get("app.js").status()).isEqualTo(200);
        assertThat(anonymous.get("health").status()).isEqualTo(200);
    }

    @Test
    void healthReportsModelAndQueue() throws IOException {
        Http http = start(ServerOptions.defaults().withModelName("tiny").withMaxConcurrency(2).withMaxQueue(5));
        Http.Reply r = http.get("health");
        assertThat(r.status()).isEqualTo(200);
        JsonNode h = r.json();
        assertThat(h.get("status").asText()).isEqualTo("ok");
        assertThat(h.get("model").asText()).isEqualTo("tiny");
        assertThat(h.get("queue").asInt()).isZero();
        assertThat(h.get("running").asInt()).isZero();
        assertThat(h.get("max_concurrency").asInt()).isEqualTo(2);
        assertThat(h.get("max_queue").asInt()).isEqualTo(5);
    }

    @Test
    void bodiesOverTheLimitAre413() throws Exception {
        Http http = start(ServerOptions.defaults().withMaxBodyBytes(1000));
        String big = "{\"prompt\": \"" + "x".repeat(2000) + "\"}";
        Http.Reply ref = http.post("", big);
        assertThat(ref.status()).isEqualTo(413);
        assertThat(ref.json().get("detail").asText()).contains("1000 bytes");
        Http.Reply oa = http.post("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"" + "y".repeat(2000) + "\"}]}");
        assertThat(oa.status()).isEqualTo(413);
        assertThat(oa.json().get("error").get("code").asText()).isEqualTo("request_too_large");
        // without a Content-Length (chunked) the limit holds as the body streams in
        HttpRequest chunked = HttpRequest.newBuilder(uri().resolve("v1/chat/completions"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8))))
                .build();
        HttpResponse<String> r = HttpClient.newHttpClient().send(chunked, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(413);
        assertThat(engine.seen).isEmpty();
        // a body within the limit is fine
        assertThat(http.post("v1/chat/completions", ask(2, false)).status()).isEqualTo(200);
    }

    @Test
    void aFullQueueIsRefusedWithRetryAfter() throws Exception {
        Http http = start(ServerOptions.defaults().withMaxConcurrency(1).withMaxQueue(1));
        engine.gate = new Semaphore(0);
        CompletableFuture<Http.Reply> running = CompletableFuture.supplyAsync(() -> http.post("v1/chat/completions", ask(3, false)));
        assertThat(engine.firstToken.await(20, TimeUnit.SECONDS)).isTrue();
        CompletableFuture<Http.Reply> queued = CompletableFuture.supplyAsync(() -> http.post("", "{\"prompt\": \"hi\", \"max_length\": 20}"));
        await(() -> health(http).get("queue").asInt() == 1, "the second request waits");
        assertThat(health(http).get("running").asInt()).isEqualTo(1);

        Http.Reply refused = http.post("v1/chat/completions", ask(3, false));
        assertThat(refused.status()).isEqualTo(429);
        assertThat(refused.headers().firstValue("Retry-After")).contains("1");
        assertThat(refused.json().get("error").get("type").asText()).isEqualTo("server_busy");
        Http.Reply refusedStream = http.post("v1/chat/completions", ask(3, true));
        assertThat(refusedStream.status()).isEqualTo(429);
        Http.Reply refusedReference = http.post("", "{\"prompt\": \"hi\"}");
        assertThat(refusedReference.status()).isEqualTo(503);
        assertThat(refusedReference.headers().firstValue("Retry-After")).contains("1");
        assertThat(refusedReference.json().get("detail").asText()).contains("busy");

        engine.gate.release(10);
        assertThat(running.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(queued.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
        await(() -> health(http).get("running").asInt() == 0, "all slots are free");
        assertThat(health(http).get("queue").asInt()).isZero();
    }

    @Test
    void aStreamingClientThatHangsUpCancelsItsGeneration() throws Exception {
        Http http = start(ServerOptions.defaults().withMaxConcurrency(1).withMaxQueue(4));
        engine.tokenDelayMillis = 20;
        try (Http.Raw raw = new Http.Raw(uri(), "POST", "/v1/chat/completions", ask(1500, true))) {
            assertThat(raw.statusLine()).contains("200");
            assertThat(raw.readUntil(l -> l.contains("\"content\":\"") && !l.contains("\"content\":\"\""))).isNotNull();
        }
        await(() -> !engine.calls.isEmpty(), "the generation ends");
        assertThat(engine.lastCall().response().finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(engine.lastCall().response().completionTokens()).isLessThan(1500);
        await(() -> health(http).get("running").asInt() == 0, "the slot is free again");
        engine.tokenDelayMillis = 0;
        assertThat(http.post("v1/chat/completions", ask(2, false)).status()).isEqualTo(200);
    }

    @Test
    void aQueuedStreamingClientThatHangsUpLeavesTheQueue() throws Exception {
        Http http = start(ServerOptions.defaults().withMaxConcurrency(1).withMaxQueue(4));
        engine.gate = new Semaphore(0);
        CompletableFuture<Http.Reply> running = CompletableFuture.supplyAsync(() -> http.post("v1/chat/completions", ask(3, false)));
        assertThat(engine.firstToken.await(20, TimeUnit.SECONDS)).isTrue();
        try (Http.Raw raw = new Http.Raw(uri(), "POST", "/v1/chat/completions", ask(3, true))) {
            await(() -> health(http).get("queue").asInt() == 1, "the stream waits in the queue");
        }
        // the server finds out at its next keep-alive ping
        await(() -> health(http).get("queue").asInt() == 0, "the vanished client leaves the queue");
        engine.gate.release(10);
        assertThat(running.get(30, TimeUnit.SECONDS).status()).isEqualTo(200);
        assertThat(engine.started.get()).as("the vanished request never generated").isEqualTo(1);
    }

    @Test
    void requestsPastTheTimeLimitAreCancelled() throws Exception {
        Http http = start(ServerOptions.defaults().withRequestTimeout(Duration.ofMillis(800)));
        engine.tokenDelayMillis = 20;
        Http.Reply r = http.post("v1/chat/completions", ask(1500, false));
        assertThat(r.status()).isEqualTo(504);
        assertThat(r.json().get("error").get("code").asText()).isEqualTo("timeout");
        assertThat(engine.lastCall().response().finishReason()).isEqualTo(FinishReason.CANCELLED);

        Http.Reply s = http.post("v1/chat/completions", ask(1500, true));
        assertThat(s.status()).isEqualTo(200);
        List<String> events = s.events();
        assertThat(events.getLast()).isEqualTo("[DONE]");
        JsonNode error = Http.Reply.parse(events.get(events.size() - 2)).get("error");
        assertThat(error.get("code").asText()).isEqualTo("timeout");
        assertThat(events.size()).as("some content came before the time ran out").isGreaterThan(3);

        engine.gate = new Semaphore(0); // holds the generation at its first token until the time limit cancels it
        Http.Reply ref = http.post("", "{\"prompt\": \"hi\"}");
        assertThat(ref.status()).isEqualTo(504);
        assertThat(ref.json().get("detail").asText()).contains("time limit");
    }

    @Test
    void waitingPastTheTimeLimitIs504() throws Exception {
        Http http = start(ServerOptions.defaults().withMaxConcurrency(1).withMaxQueue(2).withRequestTimeout(Duration.ofSeconds(1)));
        engine.gate = new Semaphore(0);
        engine.gateIgnoresCancellation = true; // the first request keeps its slot past its own time limit
        CompletableFuture<Http.Reply> running = CompletableFuture.supplyAsync(() -> http.post("v1/chat/completions", ask(3, false)));
        assertThat(engine.firstToken.await(20, TimeUnit.SECONDS)).isTrue();
        Http.Reply waited = http.post("v1/chat/completions", ask(3, false));
        assertThat(waited.status()).isEqualTo(504);
        assertThat(waited.json().get("error").get("code").asText()).isEqualTo("timeout");
        // a stream that timed out in the queue before anything was sent is a plain 504 too
        Http.Reply waitedStream = http.post("v1/chat/completions", ask(3, true));
        assertThat(waitedStream.status()).isEqualTo(504);
        assertThat(waitedStream.json().get("error").get("code").asText()).isEqualTo("timeout");
        engine.gate.release(10);
        assertThat(running.get(30, TimeUnit.SECONDS).status()).isEqualTo(504);
        assertThat(engine.started.get()).isEqualTo(1);
        await(() -> health(http).get("queue").asInt() == 0 && health(http).get("running").asInt() == 0, "all is free");
    }

    @Test
    void anEngineDoingItsOwnAdmissionCanSayBusy() throws IOException {
        Http http = start(ServerOptions.defaults().withMaxConcurrency(0));
        engine.failWith = new EngineBusyException("the batch is full");
        Http.Reply r = http.post("v1/chat/completions", ask(3, false));
        assertThat(r.status()).isEqualTo(429);
        assertThat(r.headers().firstValue("Retry-After")).isPresent();
        assertThat(r.json().get("error").get("message").asText()).isEqualTo("the batch is full");
        assertThat(http.post("v1/chat/completions", ask(3, true)).status()).isEqualTo(429);
        assertThat(http.post("", "{\"prompt\": \"hi\"}").status()).isEqualTo(503);
        engine.failWith = null;
        assertThat(http.post("v1/chat/completions", ask(3, true)).status()).isEqualTo(200);
    }

    @Test
    void anEngineFailureIsA500AndTheServerGoesOn() throws IOException {
        Http http = start(ServerOptions.defaults());
        engine.failWith = new IllegalStateException("boom");
        Http.Reply r = http.post("v1/chat/completions", ask(3, false));
        assertThat(r.status()).isEqualTo(500);
        assertThat(r.json().get("error").get("type").asText()).isEqualTo("server_error");
        assertThat(r.body()).doesNotContain("boom"); // internals stay in the server log
        assertThat(http.post("v1/chat/completions", ask(3, true)).status()).isEqualTo(500);
        assertThat(http.post("", "{\"prompt\": \"hi\"}").status()).isEqualTo(500);
        engine.failWith = null;
        assertThat(http.post("v1/chat/completions", ask(3, false)).status()).isEqualTo(200);
        assertThat(health(http).get("running").asInt()).isZero();
    }

    @Test
    void junkOnTheWireDoesNotHurt() throws Exception {
        Http http = start(ServerOptions.defaults());
        for (String junk : List.of("GARBAGE\r\n\r\n", "POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mess", "\u0000\u0001\u0002\r\n\r\n")) {
            try (Socket s = new Socket(uri().getHost(), uri().getPort())) {
                s.setSoTimeout(5000);
                OutputStream out = s.getOutputStream();
                out.write(junk.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                s.shutdownOutput();
                InputStream in = s.getInputStream();
                String answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
                if (!answer.isEmpty()) assertThat(answer).startsWith("HTTP/1.1 4");
            }
        }
        assertThat(http.post("v1/chat/completions", ask(2, false)).status()).isEqualTo(200);
    }

    @Test
    void bindsToLoopbackByDefault() throws IOException {
        start(ServerOptions.defaults());
        assertThat(ServerOptions.defaults().host()).isEqualTo("127.0.0.1");
        assertThat(ServerOptions.defaults().port()).isEqualTo(8000);
        assertThat(uri().getHost()).isEqualTo("127.0.0.1");
    }
}
