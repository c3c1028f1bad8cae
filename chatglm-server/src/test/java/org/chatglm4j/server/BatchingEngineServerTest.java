package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.BatchingEngine;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server with admission left to the continuous-batching engine (max concurrency 0): concurrent streams are
 * decoded together and each gets chat()'s reply; beyond the engine's capacity requests get 429/503.
 */
class BatchingEngineServerTest {

    @Test
    void concurrentStreamsBeyondTheEnginesCapacityAreRefused() throws Exception {
        String expected = Fixture.model().chat("Tell me a long story", List.of(),
                GenerationConfig.greedy(2048).withMaxNewTokens(300)).response();
        try (BatchingEngine engine = new BatchingEngine(Fixture.model(), 2, 2);
             ChatServer server = ChatServer.start(ServerOptions.defaults().withPort(0).withMaxConcurrency(0), engine)) {
            Http http = new Http(server.uri());
            String body = "{\"stream\": true, \"temperature\": 0, \"max_tokens\": 300, \"messages\": [{\"role\": \"user\", \"content\": \"Tell me a long story\"}]}";
            List<CompletableFuture<Http.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < 8; i++) replies.add(CompletableFuture.supplyAsync(() -> http.post("v1/chat/completions", body)));
            int ok = 0, busy = 0;
            for (CompletableFuture<Http.Reply> f : replies) {
                Http.Reply r = f.get(120, TimeUnit.SECONDS);
                if (r.status() == 429) {
                    busy++;
                    assertThat(r.headers().firstValue("Retry-After")).isPresent();
                    assertThat(r.json().get("error").get("type").asText()).isEqualTo("server_busy");
                    continue;
                }
                assertThat(r.status()).isEqualTo(200);
                ok++;
                List<String> events = r.events();
                assertThat(events.getLast()).isEqualTo("[DONE]");
                StringBuilder text = new StringBuilder();
                for (String e : events.subList(0, events.size() - 1)) {
                    text.append(Http.Reply.parse(e).get("choices").get(0).get("delta").path("content").asText(""));
                }
                assertThat(text.toString()).isEqualTo(expected);
            }
            assertThat(ok + busy).isEqualTo(8);
            assertThat(ok).as("the engine takes 2 running + 2 queued").isGreaterThanOrEqualTo(4);
            assertThat(busy).as("the rest is refused while those run").isPositive();
            // the reference API says 503 for the same condition; afterwards everything is served again
            assertThat(http.post("", "{\"prompt\": \"hi\", \"max_length\": 20}").status()).isEqualTo(200);
        }
    }

    @Test
    void healthReportsTheEnginesOwnSlots() throws Exception {
        try (BatchingEngine engine = new BatchingEngine(Fixture.model(), 2, 3);
             ChatServer server = ChatServer.start(ServerOptions.defaults().withPort(0).withMaxConcurrency(0), engine)) {
            Http http = new Http(server.uri());
            JsonNode idle = http.get("health").json();
            assertThat(idle.get("max_concurrency").asInt()).isEqualTo(2);
            assertThat(idle.get("max_queue").asInt()).isEqualTo(3);
            assertThat(idle.get("running").asInt()).isZero();
            assertThat(idle.get("queue").asInt()).isZero();

            // a long reply runs in the engine until cancelled
            Cancellation cancel = new Cancellation();
            CompletableFuture<?> reply = CompletableFuture.runAsync(() -> engine.streamChat("Tell me a long story",
                    List.of(), GenerationConfig.greedy(2048).withMaxNewTokens(2000), null, cancel));
            ServerSafetyTest.await(() -> http.get("health").json().get("running").asInt() == 1, "one reply runs");
            cancel.cancel();
            reply.get(60, TimeUnit.SECONDS);
            ServerSafetyTest.await(() -> http.get("health").json().get("running").asInt() == 0, "the engine is idle");
        }
    }
}
