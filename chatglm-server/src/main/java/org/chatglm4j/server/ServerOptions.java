package org.chatglm4j.server;

import java.time.Duration;

/**
 * How a {@link ChatServer} listens and admits requests.
 *
 * @param host           address to bind; 127.0.0.1 by default so that nothing outside the machine can connect
 * @param port           TCP port; 0 picks a free one (see {@link ChatServer#port()})
 * @param apiKey         when non-null, every API route needs {@code Authorization: Bearer <apiKey>}; the web page
 *                       and {@code /health} stay open
 * @param maxConcurrency requests generating at once; 0 leaves admission to the engine (a batching engine that
 *                       throws {@link org.chatglm4j.chat.EngineBusyException} when full)
 * @param maxQueue       requests that may wait for a free slot; beyond it the server answers 429 (OpenAI API) or
 *                       503 (reference API) with Retry-After
 * @param requestTimeout limit of one request, waiting included; a request past it is cancelled (504, or an error
 *                       event on a stream that already started)
 * @param maxBodyBytes   largest request body accepted (413 beyond)
 * @param modelName      the model id shown by {@code /v1/models} and in responses
 * @param limits         who may connect and how much one request may ask for (connections, idle clients,
 *                       allowed origins, messages, characters)
 */
public record ServerOptions(String host, int port, String apiKey, int maxConcurrency, int maxQueue,
                            Duration requestTimeout, long maxBodyBytes, String modelName, ServerLimits limits) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 8000;

    public ServerOptions {
        if (host == null || host.isBlank()) throw new IllegalArgumentException("host must not be empty");
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0..65535, got " + port);
        if (apiKey != null && apiKey.isBlank()) throw new IllegalArgumentException("the API key must not be blank");
        if (maxConcurrency < 0) throw new IllegalArgumentException("max concurrency must be >= 0, got " + maxConcurrency);
        if (maxQueue < 0) throw new IllegalArgumentException("max queue must be >= 0, got " + maxQueue);
        if (requestTimeout == null || requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("the request timeout must be positive, got " + requestTimeout);
        }
        if (maxBodyBytes < 1) throw new IllegalArgumentException("max body bytes must be positive, got " + maxBodyBytes);
        if (modelName == null || modelName.isBlank()) throw new IllegalArgumentException("model name must not be empty");
        if (limits == null) throw new IllegalArgumentException("limits must not be null");
    }

    /** Options with the default {@link ServerLimits}. */
    public ServerOptions(String host, int port, String apiKey, int maxConcurrency, int maxQueue,
                         Duration requestTimeout, long maxBodyBytes, String modelName) {
        this(host, port, apiKey, maxConcurrency, maxQueue, requestTimeout, maxBodyBytes, modelName, ServerLimits.defaults());
    }

    /**
     * 127.0.0.1:8000, no API key, one generation at a time (what {@link org.chatglm4j.chat.ChatGLM} does anyway)
     * with 16 waiting, 10 minutes per request, 1 MiB bodies, model "chatglm-6b".
     */
    public static ServerOptions defaults() {
        return new ServerOptions(DEFAULT_HOST, DEFAULT_PORT, null, 1, 16, Duration.ofMinutes(10), 1 << 20, "chatglm-6b");
    }

    public ServerOptions withHost(String h) {
        return new ServerOptions(h, port, apiKey, maxConcurrency, maxQueue, requestTimeout, maxBodyBytes, modelName, limits);
    }

    public ServerOptions withPort(int p) {
        return new ServerOptions(host, p, apiKey, maxConcurrency, maxQueue, requestTimeout, maxBodyBytes, modelName, limits);
    }

    public ServerOptions withApiKey(String k) {
        return new ServerOptions(host, port, k, maxConcurrency, maxQueue, requestTimeout, maxBodyBytes, modelName, limits);
    }

    public ServerOptions withMaxConcurrency(int n) {
        return new ServerOptions(host, port, apiKey, n, maxQueue, requestTimeout, maxBodyBytes, modelName, limits);
    }

    public ServerOptions withMaxQueue(int n) {
        return new ServerOptions(host, port, apiKey, maxConcurrency, n, requestTimeout, maxBodyBytes, modelName, limits);
    }

    public ServerOptions withRequestTimeout(Duration d) {
        return new ServerOptions(host, port, apiKey, maxConcurrency, maxQueue, d, maxBodyBytes, modelName, limits);
    }

    public ServerOptions withMaxBodyBytes(long n) {
        return new ServerOptions(host, port, apiKey, maxConcurrency, maxQueue, requestTimeout, n, modelName, limits);
    }

    public ServerOptions withLimits(ServerLimits l) {
        return new ServerOptions(host, port, apiKey, maxConcurrency, maxQueue, requestTimeout, maxBodyBytes, modelName, l);
    }

    /** Adds origins (e.g. {@code https://app.example}) that browsers may call the API from; {@code *} allows any. */
    public ServerOptions withAllowedOrigins(java.util.List<String> origins) {
        return withLimits(limits.withAllowedOrigins(origins));
    }

    public ServerOptions withModelName(String m) {
        return new ServerOptions(host, port, apiKey, maxConcurrency, maxQueue, requestTimeout, maxBodyBytes, m, limits);
    }
}
