package org.chatglm4j.server;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.BatchingEngine;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.LoadOptions;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code java org.chatglm4j.server.ServeMain --model DIR [options]}: loads a model and serves it until killed.
 * For manual runs; the {@code chatglm serve} command of the CLI does the same.
 */
public final class ServeMain {
    private ServeMain() {
    }

    static final String USAGE = """
            Usage: ServeMain --model DIR [options]
              --model DIR             model folder (config.json, ice_text.model, weights)
              --ptuning DIR           P-Tuning v2 checkpoint to apply
              --threads N             compute threads (default: all processors)
              --host ADDR             address to bind (default 127.0.0.1; 0.0.0.0 exposes the server to the network)
              --port N                port (default 8000, 0 = any free port)
              --api-key KEY           require "Authorization: Bearer KEY" on the API (or set CHATGLM_API_KEY)
              --batch N               decode up to N replies together (continuous batching); the engine then
                                      admits requests: N running plus --max-queue waiting
              --max-concurrency N     requests generating at once (default 1; 0 = leave admission to the engine)
              --max-queue N           requests waiting for a slot before 429/503 (default 16)
              --timeout SECONDS       time limit of one request, waiting included (default 600)
              --max-body BYTES        largest request body (default 1048576)
              --model-name NAME       model id shown by /v1/models (default chatglm-6b)
              --metrics-public        serve GET /metrics without the API key
              --allowed-origin ORIGIN also accept browser requests from ORIGIN (scheme://host[:port] or *); repeatable
              --max-connections N     open connections at most (default 512)
            """;

    public static void main(String[] args) throws Exception {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT %4$s %5$s%6$s%n");
        }
        Parsed p;
        try {
            p = parse(args, System.getenv("CHATGLM_API_KEY"));
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        if (p == null) {
            System.out.print(USAGE);
            return;
        }
        run(p, System.err);
    }

    static void run(Parsed p, PrintStream err) throws IOException, InterruptedException {
        LoadingEngine loading = new LoadingEngine();
        ServerMetrics metrics = new ServerMetrics(p.metricsPublic());
        long t0 = System.nanoTime();
        try (ChatServer server = ChatServer.start(p.options(), loading, metrics);
             ChatGLM glm = ChatGLM.load(p.model(), p.load());
             BatchingEngine batching = p.batch() > 0 ? new BatchingEngine(glm, p.batch(), p.options().maxQueue()) : null) {
            metrics.modelLoaded(java.time.Duration.ofNanos(System.nanoTime() - t0));
            loading.ready(batching != null ? batching : glm);
            err.println("chatglm4j: serving " + p.options().modelName() + " at " + server.uri()
                    + "  (OpenAI base URL " + server.uri() + "v1)");
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "chatglm-shutdown"));
            server.join();
        } catch (ChatGlmException e) {
            err.println("error: " + e.getMessage());
            System.exit(1);
        }
    }

    /** @param batch continuous-batching width, 0 for one reply at a time */
    record Parsed(Path model, LoadOptions load, ServerOptions options, int batch, boolean metricsPublic) {
    }

    /** Parses the command line; null for --help. */
    static Parsed parse(String[] args, String envApiKey) {
        ServerOptions o = ServerOptions.defaults();
        LoadOptions load = LoadOptions.defaults();
        Path model = null;
        int batch = 0;
        boolean metricsPublic = false;
        String key = envApiKey == null || envApiKey.isBlank() ? null : envApiKey;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) return null;
            if (a.equals("--metrics-public")) {
                metricsPublic = true;
                continue;
            }
            String name = a;
            String value;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            } else {
                if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
                value = args[++i];
            }
            switch (name) {
                case "--model" -> model = Path.of(value);
                case "--ptuning" -> load = load.withPtuning(Path.of(value));
                case "--threads" -> load = load.withThreads(number(name, value));
                case "--host" -> o = o.withHost(value);
                case "--port" -> o = o.withPort(number(name, value));
                case "--api-key" -> key = value;
                case "--batch" -> batch = number(name, value);
                case "--max-concurrency" -> o = o.withMaxConcurrency(number(name, value));
                case "--max-queue" -> o = o.withMaxQueue(number(name, value));
                case "--timeout" -> o = o.withRequestTimeout(Duration.ofSeconds(number(name, value)));
                case "--max-body" -> o = o.withMaxBodyBytes(number(name, value));
                case "--model-name" -> o = o.withModelName(value);
                case "--allowed-origin" -> o = o.withAllowedOrigins(java.util.List.of(value));
                case "--max-connections" -> o = o.withLimits(o.limits().withMaxConnections(number(name, value)));
                default -> throw new IllegalArgumentException("unknown option " + name);
            }
        }
        if (model == null) throw new IllegalArgumentException("--model DIR is required");
        if (batch < 0) throw new IllegalArgumentException("--batch must be >= 0, got " + batch);
        // a batching engine does its own admission (EngineBusyException when full)
        if (batch > 0) o = o.withMaxConcurrency(0);
        return new Parsed(model, load, o.withApiKey(key), batch, metricsPublic);
    }

    private static int number(String name, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " needs a whole number, got '" + value + "'");
        }
    }
}
