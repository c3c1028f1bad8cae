package org.chatglm4j.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.chat.BatchingEngine;
import org.chatglm4j.chat.ChatEngine;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP front end of a {@link ChatEngine}: the reference {@code api.py} endpoint ({@code POST /}), an
 * OpenAI-compatible API ({@code /v1/models}, {@code /v1/chat/completions}), a web chat page ({@code GET /}) and
 * {@code /health}. Every request runs on its own virtual thread; at most {@link ServerOptions#maxConcurrency()}
 * generate at once and {@link ServerOptions#maxQueue()} wait, the rest are told to come back later.
 *
 * <pre>{@code
 * try (ChatGLM glm = ChatGLM.load(dir);
 *      ChatServer server = ChatServer.start(ServerOptions.defaults(), glm)) {
 *     server.join();
 * }
 * }</pre>
 */
public final class ChatServer implements AutoCloseable {
    /** One line per request: method, path, status, tokens in/out, duration. */
    static final Logger ACCESS = Logger.getLogger("org.chatglm4j.server.access");
    private static final Logger LOG = Logger.getLogger(ChatServer.class.getName());

    private final Server jetty;
    private final ServerConnector connector;
    private final ServerContext ctx;
    private final ScheduledThreadPoolExecutor scheduler;

    private ChatServer(Server jetty, ServerConnector connector, ServerContext ctx, ScheduledThreadPoolExecutor scheduler) {
        this.jetty = jetty;
        this.connector = connector;
        this.ctx = ctx;
        this.scheduler = scheduler;
    }

    /** Binds and starts serving; fails with an {@link IOException} when the address cannot be bound. */
    public static ChatServer start(ServerOptions options, ChatEngine engine) throws IOException {
        return start(options, engine, new ServerMetrics(false));
    }

    /**
     * Binds and starts serving, with {@code GET /metrics} reporting into {@code metrics}. The engine may be a
     * {@link LoadingEngine} that gets its model later ({@code /health} says "loading" until then).
     */
    public static ChatServer start(ServerOptions options, ChatEngine engine, ServerMetrics metrics) throws IOException {
        QueuedThreadPool threads = new QueuedThreadPool();
        threads.setName("chatglm-http");
        // Jetty runs blocking handlers on virtual threads: a waiting or streaming request costs no platform thread
        threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
        Server jetty = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        ServerConnector connector = new ServerConnector(jetty, new HttpConnectionFactory(http));
        connector.setHost(options.host());
        connector.setPort(options.port());
        jetty.addConnector(connector);

        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "chatglm-timeouts");
            t.setDaemon(true);
            return t;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        ClientLimits.apply(jetty, connector, http, options.limits(), scheduler);
        ServerContext ctx = new ServerContext(engine, options,
                new Admission(options.maxConcurrency(), options.maxQueue()), scheduler, ServerContext.newMapper(),
                System.currentTimeMillis() / 1000);
        metrics.watch(() -> LoadingEngine.unwrap(engine), ctx.admission());
        jetty.setHandler(new Router(ctx, metrics));
        try {
            jetty.start();
        } catch (Exception e) {
            scheduler.shutdownNow();
            try {
                jetty.stop();
            } catch (Exception ignored) {
                // already failing: report the start failure
            }
            throw e instanceof IOException io ? io
                    : new IOException("cannot start the server on " + options.host() + ":" + options.port() + ": " + e.getMessage(), e);
        }
        ChatServer server = new ChatServer(jetty, connector, ctx, scheduler);
        LOG.info("serving " + options.modelName() + " on " + server.uri()
                + (options.apiKey() != null ? " (API key required)" : ""));
        return server;
    }

    /** The port actually bound (the ephemeral one when the options said 0). */
    public int port() {
        return connector.getLocalPort();
    }

    /** The base address, e.g. {@code http://127.0.0.1:8000/}. */
    public URI uri() {
        String host = ctx.options().host();
        if (host.contains(":")) host = "[" + host + "]";
        return URI.create("http://" + host + ":" + port() + "/");
    }

    public ServerOptions options() {
        return ctx.options();
    }

    /** Blocks until the server stops. */
    public void join() throws InterruptedException {
        jetty.join();
    }

    /** Stops accepting, ends open exchanges and frees the port. The engine is the caller's to close. */
    @Override
    public void close() {
        try {
            jetty.stop();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "error while stopping the server", e);
        } finally {
            scheduler.shutdownNow();
        }
    }

    /** Sends each request to its endpoint, checks the API key and writes the request log. */
    private static final class Router extends Handler.Abstract {
        private final ServerContext ctx;
        private final OpenAiApi openAi;
        private final ReferenceApi reference;
        private final WebAssets web = new WebAssets();
        private final RequestGuard guard;
        private final byte[] apiKey;
        private final ServerMetrics metrics;

        Router(ServerContext ctx, ServerMetrics metrics) {
            this.ctx = ctx;
            this.metrics = metrics;
            this.openAi = new OpenAiApi(ctx);
            this.reference = new ReferenceApi(ctx);
            this.guard = new RequestGuard(ctx.options());
            this.apiKey = ctx.options().apiKey() == null ? null
                    : ("Bearer " + ctx.options().apiKey()).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            Exchange ex = new Exchange(request, response, callback);
            try {
                route(ex);
            } catch (ApiError e) {
                sendError(ex, e);
            } catch (IOException e) {
                // writing the answer failed: the client is gone, nothing to tell anyone but the log
                ex.status = 499;
                ex.note = "client went away: " + e;
                ex.complete(e);
            } catch (Throwable t) {
                LOG.log(Level.SEVERE, ex.method + " " + ex.path + " failed", t);
                ex.note = t.toString();
                sendError(ex, ApiError.internal("internal server error"));
            } finally {
                ex.complete(null);
                log(ex);
                metrics.request(ex.path, ex.status, ex.generation);
            }
            return true;
        }

        private void route(Exchange ex) throws IOException {
            if (guard.check(ex)) return;   // wrong Host or Origin: 403 before anything else; a CORS preflight answered
            String path = ex.path;
            String method = ex.method;
            boolean get = method.equals("GET") || method.equals("HEAD");
            if (path.equals("/")) {
                if (method.equals("POST")) {
                    authorize(ex);
                    RequestGuard.requireJson(ex);
                    reference.chat(ex);
                } else if (get) {
                    web.serve(ex, "index.html");
                } else {
                    throw ApiError.methodNotAllowed(method, path);
                }
            } else if (path.equals("/health")) {
                if (!get) throw ApiError.methodNotAllowed(method, path);
                health(ex);
            } else if (path.equals("/metrics")) {
                if (!metrics.publicEndpoint()) authorize(ex);
                if (!get) throw ApiError.methodNotAllowed(method, path);
                ex.header("Cache-Control", "no-store");
                ex.send(200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape().getBytes(StandardCharsets.UTF_8));
            } else if (path.equals("/v1/models")) {
                authorize(ex);
                if (!get) throw ApiError.methodNotAllowed(method, path);
                openAi.models(ex);
            } else if (path.startsWith("/v1/models/")) {
                authorize(ex);
                if (!get) throw ApiError.methodNotAllowed(method, path);
                openAi.model(ex, path.substring("/v1/models/".length()));
            } else if (path.equals("/v1/chat/completions")) {
                authorize(ex);
                if (!method.equals("POST")) throw ApiError.methodNotAllowed(method, path);
                RequestGuard.requireJson(ex);
                openAi.chatCompletions(ex);
            } else if (path.startsWith("/v1/")) {
                authorize(ex);
                throw ApiError.notFound("no endpoint " + path);
            } else if (get && WebAssets.isAssetName(path.substring(1))) {
                web.serve(ex, path.substring(1));
            } else {
                throw ApiError.notFound("not found: " + path);
            }
        }

        private void authorize(Exchange ex) {
            if (apiKey == null) return;
            String given = ex.header(HttpHeader.AUTHORIZATION);
            // constant-time comparison: response timing must not reveal how much of a guessed key was right
            if (given == null || !MessageDigest.isEqual(apiKey, given.getBytes(StandardCharsets.UTF_8))) {
                ex.header("WWW-Authenticate", "Bearer");
                throw ApiError.unauthorized();
            }
        }

        private void health(Exchange ex) throws IOException {
            ObjectNode h = ctx.json().createObjectNode();
            ChatEngine engine = LoadingEngine.unwrap(ctx.engine());
            if (engine == null) {   // still loading: a startup probe keeps waiting, a load balancer sends nothing
                h.put("status", "loading");
                h.put("model", ctx.options().modelName());
                ex.header("Cache-Control", "no-store");
                ex.header("Retry-After", "1");
                ex.sendJson(503, ctx.write(h));
                return;
            }
            boolean healthy = engine.healthy();
            h.put("status", healthy ? "ok" : "unhealthy");
            h.put("model", ctx.options().modelName());
            if (engine instanceof BatchingEngine b) {   // it admits requests itself: report its own numbers
                int queued = b.queued();
                h.put("running", Math.max(0, b.inFlight() - queued));
                h.put("queue", queued);
                h.put("max_concurrency", b.maxBatch());
                h.put("max_queue", b.maxQueue());
            } else {
                h.put("running", ctx.admission().running());
                h.put("queue", ctx.admission().waiting());
                h.put("max_concurrency", ctx.admission().maxConcurrency());
                h.put("max_queue", ctx.admission().maxQueue());
            }
            ex.header("Cache-Control", "no-store");
            ex.sendJson(healthy ? 200 : 503, ctx.write(h));
        }

        private void sendError(Exchange ex, ApiError e) {
            ex.note = ex.note.isEmpty() ? e.getMessage() : ex.note;
            if (ex.hasWritten()) {
                // a stream already under way: the status can no longer change, cut the connection
                ex.status = e.status;
                ex.complete(e);
                return;
            }
            try {
                ex.resetUnwritten();
                if (e.retryAfterSeconds > 0) ex.header("Retry-After", Integer.toString(e.retryAfterSeconds));
                if (e.status == 401) ex.header("WWW-Authenticate", "Bearer");
                if (e.status == 413) ex.header("Connection", "close"); // the unread rest of the body is not read
                ObjectNode root = ctx.json().createObjectNode();
                if (ex.path.startsWith("/v1/")) {
                    root.set("error", OpenAiApi.errorBody(ctx, e));
                } else {
                    root.put("detail", e.getMessage());
                }
                ex.sendJson(e.status, ctx.write(root));
            } catch (IOException | RuntimeException io) {
                ex.status = e.status;
                ex.complete(io);
            }
        }

        private static void log(Exchange ex) {
            if (!ACCESS.isLoggable(Level.INFO)) return;
            StringBuilder sb = new StringBuilder(96);
            sb.append(Exchange.remote(ex.request)).append(' ').append(ex.method).append(' ').append(ex.path)
                    .append(' ').append(ex.status);
            if (ex.tokensIn >= 0) sb.append(" in=").append(ex.tokensIn);
            if (ex.tokensOut >= 0) sb.append(" out=").append(ex.tokensOut);
            sb.append(' ').append(ex.millis()).append("ms");
            if (!ex.note.isEmpty()) sb.append(" (").append(ex.note).append(')');
            ACCESS.info(sb.toString());
        }
    }
}
