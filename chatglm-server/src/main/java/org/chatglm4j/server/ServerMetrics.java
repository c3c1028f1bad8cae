package org.chatglm4j.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.chatglm4j.chat.BatchingEngine;
import org.chatglm4j.chat.ChatEngine;
import org.chatglm4j.generate.GenerationResult;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * What {@code GET /metrics} reports, in the Prometheus text format (Micrometer's Prometheus registry):
 *
 * <ul>
 *   <li>{@code chatglm_http_requests_total{route,status}}: requests by route (a fixed set, unknown paths are
 *       {@code other}) and HTTP status;</li>
 *   <li>{@code chatglm_prompt_tokens_total}, {@code chatglm_generation_tokens_total}: tokens in and out;</li>
 *   <li>{@code chatglm_time_to_first_token_seconds}: histogram, from the request reaching the engine to its first
 *       token (queueing and the prompt's forward pass);</li>
 *   <li>{@code chatglm_time_per_output_token_seconds}: histogram of the decoding time per token after the first,
 *       one observation per token at the reply's mean (count and sum are exact, the spread is per reply);</li>
 *   <li>{@code chatglm_requests_running}, {@code chatglm_requests_waiting}: slots decoding and the queue;</li>
 *   <li>{@code chatglm_kv_cache_bytes}: attention cache held by the replies decoding now (batching engine);</li>
 *   <li>{@code chatglm_model_load_seconds}: how long the model took to load (NaN until it has);</li>
 *   <li>the JVM's own meters are not registered: the registry holds only these.</li>
 * </ul>
 *
 * Thread-safe. {@link #publicEndpoint()} says whether {@code /metrics} skips the API key.
 */
public final class ServerMetrics {
    /** The routes requests are counted under; anything else is {@code other}. */
    private static final java.util.Set<String> ROUTES = java.util.Set.of("/", "/health", "/metrics", "/v1/models",
            "/v1/chat/completions");

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final boolean publicEndpoint;
    private final Counter promptTokens;
    private final Counter generatedTokens;
    private final Timer timeToFirstToken;
    private final Timer timePerToken;
    private final AtomicLong loadNanos = new AtomicLong(-1);

    /** @param publicEndpoint whether {@code /metrics} is served without the API key ({@code --metrics-public}) */
    public ServerMetrics(boolean publicEndpoint) {
        this.publicEndpoint = publicEndpoint;
        promptTokens = Counter.builder("chatglm.prompt.tokens").description("Prompt tokens processed")
                .register(registry);
        generatedTokens = Counter.builder("chatglm.generation.tokens").description("Tokens generated")
                .register(registry);
        timeToFirstToken = Timer.builder("chatglm.time.to.first.token")
                .description("Time from a request reaching the engine to its first token")
                .serviceLevelObjectives(buckets(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
                .register(registry);
        timePerToken = Timer.builder("chatglm.time.per.output.token")
                .description("Decoding time per generated token after the first (a reply's mean, once per token)")
                .serviceLevelObjectives(buckets(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5))
                .register(registry);
        Gauge.builder("chatglm.model.load", loadNanos, n -> n.get() < 0 ? Double.NaN : n.get() / 1e9)
                .description("Time the model took to load").baseUnit("seconds").register(registry);
    }

    private static Duration[] buckets(double... seconds) {
        Duration[] d = new Duration[seconds.length];
        for (int i = 0; i < d.length; i++) d[i] = Duration.ofNanos(Math.round(seconds[i] * 1e9));
        return d;
    }

    public boolean publicEndpoint() {
        return publicEndpoint;
    }

    /** Records the model's load time. */
    public void modelLoaded(Duration took) {
        loadNanos.set(took.toNanos());
    }

    /**
     * Reports the engine's slots and queue: a batching engine's own numbers, else the server's admission.
     * Called once by the server when it starts.
     */
    void watch(Supplier<ChatEngine> engine, Admission admission) {
        Gauge.builder("chatglm.requests.running", () -> {
            ChatEngine e = engine.get();
            if (e instanceof BatchingEngine b) return Math.max(0, b.inFlight() - b.queued());
            return admission.running();
        }).description("Requests decoding now").register(registry);
        Gauge.builder("chatglm.requests.waiting", () -> {
            ChatEngine e = engine.get();
            if (e instanceof BatchingEngine b) return b.queued();
            return admission.waiting();
        }).description("Requests waiting for a slot").register(registry);
        Gauge.builder("chatglm.kv.cache", () -> engine.get() instanceof BatchingEngine b ? b.kvCacheBytes() : 0)
                .description("Attention cache held by the replies decoding now (batching engine only)")
                .baseUnit("bytes").register(registry);
    }

    /** Counts one finished request; {@code generation} is null for requests that generated nothing. */
    void request(String path, int status, GenerationResult generation) {
        String route = ROUTES.contains(path) ? path : path.startsWith("/v1/models/") ? "/v1/models/{id}" : "other";
        Counter.builder("chatglm.http.requests").description("HTTP requests by route and status")
                .tag("route", route).tag("status", Integer.toString(status)).register(registry).increment();
        if (generation == null) return;
        promptTokens.increment(generation.inputIds().length);
        generatedTokens.increment(generation.generatedIds().length);
        if (generation.generatedIds().length > 0) {
            timeToFirstToken.record(generation.prefillNanos(), TimeUnit.NANOSECONDS);
            int after = generation.generatedIds().length - 1;
            if (after > 0) {
                long each = generation.decodeNanos() / after;
                for (int i = 0; i < after; i++) timePerToken.record(each, TimeUnit.NANOSECONDS);
            }
        }
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }
}
