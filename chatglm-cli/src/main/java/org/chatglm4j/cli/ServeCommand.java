package org.chatglm4j.cli;

import org.chatglm4j.chat.BatchingEngine;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.server.ChatServer;
import org.chatglm4j.server.LoadingEngine;
import org.chatglm4j.server.ServerMetrics;
import org.chatglm4j.server.ServerLimits;
import org.chatglm4j.server.ServerOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

/** {@code chatglm serve}: the reference HTTP API, an OpenAI-compatible API and a chat page, for many users. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Serve the model over HTTP: reference API (POST /), OpenAI API (/v1), chat page (GET /).",
        description = {"Concurrent requests are decoded together (continuous batching, up to --max-concurrency at a "
                + "time; up to --max-queue more wait, beyond that 429/503 with Retry-After).",
                "Binds 127.0.0.1 unless --host says otherwise. See docs/server.md."})
public final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model;

    @Mixin
    LoadTuning tuning;

    @Option(names = "--ptuning", paramLabel = "DIR", description = "Apply this P-Tuning v2 checkpoint.")
    Path ptuning;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind. Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "8000", description = "Port (0 = any free port). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY",
            description = "Require 'Authorization: Bearer KEY' on the API routes (also from CHATGLM_API_KEY).")
    String apiKey;

    @Option(names = "--max-concurrency", defaultValue = "8",
            description = "Replies decoded together. Default: ${DEFAULT-VALUE}.")
    int maxConcurrency;

    @Option(names = "--max-queue", defaultValue = "32", description = "Requests waiting for a slot. Default: ${DEFAULT-VALUE}.")
    int maxQueue;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS",
            description = "Time limit of one request, waiting included. Default: ${DEFAULT-VALUE}.")
    int timeout;

    @Option(names = "--max-body", defaultValue = "1048576", paramLabel = "BYTES",
            description = "Largest request body. Default: ${DEFAULT-VALUE}.")
    long maxBody;

    @Option(names = "--metrics-public",
            description = "Serve GET /metrics (Prometheus) without the API key. Default: it needs the key like the API.")
    boolean metricsPublic;
    @Option(names = "--allowed-origin", paramLabel = "ORIGIN",
            description = "Also accept browser requests from this origin (scheme://host[:port], or *); repeatable."
                    + " Bound to loopback, only loopback host names are accepted otherwise.")
    java.util.List<String> allowedOrigins = new java.util.ArrayList<>();

    @Option(names = "--max-connections", defaultValue = "512", description = "Open connections at most. Default: ${DEFAULT-VALUE}.")
    int maxConnections;

    @Option(names = "--model-name", defaultValue = "chatglm-6b", description = "Model id of /v1/models. Default: ${DEFAULT-VALUE}.")
    String modelName;

    private final CliContext ctx;

    public ServeCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() throws Exception {
        if (maxConcurrency < 1 || maxQueue < 0 || timeout < 1 || maxBody < 1 || port < 0 || port > 65535
                || maxConnections < 1) {
            throw new ParameterException(spec.commandLine(), "need --max-concurrency >= 1, --max-queue >= 0, "
                    + "--timeout >= 1, --max-body >= 1, --max-connections >= 1, 0 <= --port <= 65535");
        }
        ServerLimits limits;
        try {
            limits = ServerLimits.defaults().withAllowedOrigins(allowedOrigins).withMaxConnections(maxConnections);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        String key = apiKey != null ? apiKey : ctx.env().get("CHATGLM_API_KEY");
        Path folder = model.resolve(ctx);
        ServerOptions options = ServerOptions.defaults().withHost(host).withPort(port)
                .withApiKey(key == null || key.isBlank() ? null : key)
                .withMaxConcurrency(0)            // the batching engine admits requests itself
                .withMaxQueue(maxQueue).withRequestTimeout(Duration.ofSeconds(timeout)).withMaxBodyBytes(maxBody)
                .withModelName(modelName).withLimits(limits);
        // listen first, then load: /health answers 503 "loading" meanwhile (what a startup probe waits for)
        LoadingEngine loading = new LoadingEngine();
        ServerMetrics metrics = new ServerMetrics(metricsPublic);
        try (ChatServer server = ChatServer.start(options, loading, metrics)) {
            long t0 = System.nanoTime();
            try (ChatGLM glm = ChatGLM.load(folder, tuning.apply(model.loadOptions(ptuning)));
                 BatchingEngine engine = new BatchingEngine(glm, maxConcurrency, maxQueue)) {
                metrics.modelLoaded(Duration.ofNanos(System.nanoTime() - t0));
                loading.ready(engine);
                ctx.err().println("chatglm: serving " + folder.getFileName() + " at " + server.uri()
                        + "  (chat page " + server.uri() + ", OpenAI base URL " + server.uri() + "v1)");
                ctx.err().flush();
                Runtime.getRuntime().addShutdownHook(new Thread(server::close, "chatglm-shutdown"));
                server.join();
            }
        }
        return 0;
    }
}
