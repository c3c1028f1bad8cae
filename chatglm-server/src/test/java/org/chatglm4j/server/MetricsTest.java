package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.BatchingEngine;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** GET /metrics after a few requests: the counters moved by what those requests did, and it needs the key. */
class MetricsTest {

    /** The value of one sample line, e.g. {@code chatglm_http_requests_total{route="/",status="400"}}; 0 if absent. */
    static double sample(String scrape, String name, String labels) {
        for (String line : scrape.split("\n")) {
            if (line.startsWith("#")) continue;
            int space = line.lastIndexOf(' ');
            String key = line.substring(0, space);
            if (labels == null ? key.equals(name) : key.startsWith(name + "{") && sameLabels(key, labels)) {
                return Double.parseDouble(line.substring(space + 1));
            }
        }
        return 0;
    }

    private static boolean sameLabels(String key, String labels) {
        String got = key.substring(key.indexOf('{') + 1, key.length() - 1);
        java.util.Set<String> a = new java.util.HashSet<>(java.util.List.of(got.split(",")));
        java.util.Set<String> b = new java.util.HashSet<>(java.util.List.of(labels.split(",")));
        return a.equals(b);
    }

    @Test
    void countersMoveByWhatTheRequestsDidAndTheEndpointNeedsTheKey() throws Exception {
        ServerMetrics metrics = new ServerMetrics(false);
        metrics.modelLoaded(java.time.Duration.ofMillis(1234));
        try (BatchingEngine engine = new BatchingEngine(Fixture.model(), 4, 4);
             ChatServer server = ChatServer.start(ServerOptions.defaults().withPort(0).withMaxConcurrency(0)
                     .withApiKey("secret"), engine, metrics)) {
            Http anon = new Http(server.uri());
            Http http = new Http(server.uri(), "secret");
            assertThat(anon.get("metrics").status()).isEqualTo(401);

            int promptTokens = 0, completionTokens = 0, afterFirst = 0;
            for (String body : new String[] {
                    "{\"temperature\": 0, \"max_tokens\": 7, \"messages\": [{\"role\": \"user\", \"content\": \"你好\"}]}",
                    "{\"temperature\": 0, \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"晚上睡不着应该怎么办\"}]}",
                    "{\"temperature\": 0, \"max_tokens\": 9, \"stream\": true, \"stream_options\": {\"include_usage\": true},"
                            + " \"messages\": [{\"role\": \"user\", \"content\": \"hello\"}]}"}) {
                Http.Reply r = http.post("v1/chat/completions", body);
                assertThat(r.status()).isEqualTo(200);
                JsonNode usage = body.contains("\"stream\"")
                        ? Http.Reply.parse(r.events().get(r.events().size() - 2)).get("usage") : r.json().get("usage");
                promptTokens += usage.get("prompt_tokens").asInt();
                completionTokens += usage.get("completion_tokens").asInt();
                afterFirst += usage.get("completion_tokens").asInt() - 1;
            }
            assertThat(http.post("", "{\"history\": []}").status()).isEqualTo(400);   // no prompt
            assertThat(anon.get("health").status()).isEqualTo(200);

            Http.Reply scrape = http.get("metrics");
            assertThat(scrape.status()).isEqualTo(200);
            assertThat(scrape.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/plain");
            String s = scrape.body();
            assertThat(sample(s, "chatglm_http_requests_total", "route=\"/v1/chat/completions\",status=\"200\"")).isEqualTo(3);
            assertThat(sample(s, "chatglm_http_requests_total", "route=\"/\",status=\"400\"")).isEqualTo(1);
            assertThat(sample(s, "chatglm_http_requests_total", "route=\"/health\",status=\"200\"")).isEqualTo(1);
            assertThat(sample(s, "chatglm_http_requests_total", "route=\"/metrics\",status=\"401\"")).isEqualTo(1);
            assertThat(sample(s, "chatglm_prompt_tokens_total", null)).isEqualTo(promptTokens);
            assertThat(sample(s, "chatglm_generation_tokens_total", null)).isEqualTo(completionTokens);
            assertThat(completionTokens).isEqualTo(7 + 5 + 9);
            assertThat(sample(s, "chatglm_time_to_first_token_seconds_count", null)).isEqualTo(3);
            assertThat(sample(s, "chatglm_time_per_output_token_seconds_count", null)).isEqualTo(afterFirst);
            assertThat(sample(s, "chatglm_time_to_first_token_seconds_bucket", "le=\"+Inf\"")).isEqualTo(3);
            assertThat(sample(s, "chatglm_time_to_first_token_seconds_sum", null)).isPositive();
            assertThat(sample(s, "chatglm_requests_running", null)).isEqualTo(0);
            assertThat(sample(s, "chatglm_requests_waiting", null)).isEqualTo(0);
            assertThat(sample(s, "chatglm_kv_cache_bytes", null)).isEqualTo(0);   // nothing decoding now
            assertThat(sample(s, "chatglm_model_load_seconds", null)).isEqualTo(1.234);

            // the scrape itself is counted once it is answered
            assertThat(sample(http.get("metrics").body(), "chatglm_http_requests_total",
                    "route=\"/metrics\",status=\"200\"")).isEqualTo(1);
        }
    }

    @Test
    void kvCacheAndRunningSlotsAreReportedWhileReplying() throws Exception {
        try (BatchingEngine engine = new BatchingEngine(Fixture.model(), 2, 2);
             ChatServer server = ChatServer.start(ServerOptions.defaults().withPort(0).withMaxConcurrency(0), engine);
             Http.Raw stream = new Http.Raw(server.uri(), "POST", "/v1/chat/completions",
                     "{\"temperature\": 0, \"max_tokens\": 1500, \"stream\": true,"
                             + " \"messages\": [{\"role\": \"user\", \"content\": \"Tell me a long story\"}]}")) {
            assertThat(stream.readUntil(l -> l.startsWith("data: "))).isNotNull();   // decoding has started
            String s = new Http(server.uri()).get("metrics").body();
            assertThat(sample(s, "chatglm_requests_running", null)).isEqualTo(1);
            assertThat(sample(s, "chatglm_kv_cache_bytes", null)).isPositive();
        }
    }

    @Test
    void metricsPublicServesTheScrapeWithoutTheKey() throws Exception {
        try (ChatServer server = ChatServer.start(ServerOptions.defaults().withPort(0).withApiKey("secret"),
                Fixture.model(), new ServerMetrics(true))) {
            Http anon = new Http(server.uri());
            assertThat(anon.get("metrics").status()).isEqualTo(200);
            assertThat(anon.get("v1/models").status()).isEqualTo(401);   // the API still needs it
        }
    }

    @Test
    void healthSaysLoadingWith503UntilTheModelIsReady() throws Exception {
        LoadingEngine loading = new LoadingEngine();
        try (ChatServer server = ChatServer.start(ServerOptions.defaults().withPort(0), loading)) {
            Http http = new Http(server.uri());
            Http.Reply h = http.get("health");
            assertThat(h.status()).isEqualTo(503);
            assertThat(h.json().get("status").asText()).isEqualTo("loading");
            Http.Reply busy = http.post("", "{\"prompt\": \"你好\", \"history\": [], \"max_length\": 20}");
            assertThat(busy.status()).isEqualTo(503);
            assertThat(busy.headers().firstValue("Retry-After")).isPresent();
            assertThat(http.post("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}")
                    .status()).isEqualTo(503);

            loading.ready(Fixture.model());
            h = http.get("health");
            assertThat(h.status()).isEqualTo(200);
            assertThat(h.json().get("status").asText()).isEqualTo("ok");
            assertThat(http.post("", "{\"prompt\": \"你好\", \"history\": [], \"max_length\": 20}").status()).isEqualTo(200);
        }
    }
}
