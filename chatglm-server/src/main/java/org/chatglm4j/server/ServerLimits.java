package org.chatglm4j.server;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What protects a server from clients that ask too much or hold on too long. Each limit applies before any work
 * is done for a request (tokenizing included).
 *
 * @param allowedOrigins browser origins ({@code scheme://host[:port]}) that may call the API besides the page's own;
 *                       their host names are also accepted in {@code Host} when the server is bound to loopback
 *                       (which otherwise accepts only loopback names, against DNS rebinding); {@code *} allows any
 * @param maxConnections open connections at most; beyond, new ones wait in the operating system's backlog
 * @param idleTimeout    a connection that sends and receives nothing for this long is closed
 * @param headerTimeout  a new connection must have sent its first request head within this time (slowloris)
 * @param minDataRate    bytes per second a client must at least send its body at and read the answer at
 * @param maxMessages    OpenAI messages, or reference API history rounds, in one request
 * @param maxChars       characters of all the texts of one request together (prompt, history, messages, stops)
 */
public record ServerLimits(List<String> allowedOrigins, int maxConnections, Duration idleTimeout,
                           Duration headerTimeout, long minDataRate, int maxMessages, int maxChars) {

    public ServerLimits {
        allowedOrigins = List.copyOf(allowedOrigins);
        for (String o : allowedOrigins) {
            if (!o.equals("*") && !o.matches("https?://[^/\\s]+")) {
                throw new IllegalArgumentException("an allowed origin is scheme://host[:port] (or *), got '" + o + "'");
            }
        }
        if (maxConnections < 1) throw new IllegalArgumentException("max connections must be >= 1, got " + maxConnections);
        if (idleTimeout == null || !idleTimeout.isPositive()) throw new IllegalArgumentException("the idle timeout must be positive");
        if (headerTimeout == null || !headerTimeout.isPositive()) throw new IllegalArgumentException("the header timeout must be positive");
        if (minDataRate < 0) throw new IllegalArgumentException("the minimum data rate must be >= 0");
        if (maxMessages < 1) throw new IllegalArgumentException("max messages must be >= 1, got " + maxMessages);
        if (maxChars < 1) throw new IllegalArgumentException("max characters must be >= 1, got " + maxChars);
    }

    /**
     * No extra origins, 512 connections, 30 s idle, 10 s for a request head, 1 KiB/s at least, 1024 messages and
     * 262144 characters per request (a 2048-token context holds far fewer).
     */
    public static ServerLimits defaults() {
        return new ServerLimits(List.of(), 512, Duration.ofSeconds(30), Duration.ofSeconds(10), 1024, 1024, 1 << 18);
    }

    public ServerLimits withAllowedOrigins(List<String> more) {
        List<String> all = new ArrayList<>(allowedOrigins);
        all.addAll(more);
        return new ServerLimits(all, maxConnections, idleTimeout, headerTimeout, minDataRate, maxMessages, maxChars);
    }

    public ServerLimits withMaxConnections(int n) {
        return new ServerLimits(allowedOrigins, n, idleTimeout, headerTimeout, minDataRate, maxMessages, maxChars);
    }

    public ServerLimits withIdleTimeout(Duration d) {
        return new ServerLimits(allowedOrigins, maxConnections, d, headerTimeout, minDataRate, maxMessages, maxChars);
    }

    public ServerLimits withHeaderTimeout(Duration d) {
        return new ServerLimits(allowedOrigins, maxConnections, idleTimeout, d, minDataRate, maxMessages, maxChars);
    }

    public ServerLimits withMinDataRate(long bytesPerSecond) {
        return new ServerLimits(allowedOrigins, maxConnections, idleTimeout, headerTimeout, bytesPerSecond, maxMessages, maxChars);
    }

    public ServerLimits withMaxMessages(int n) {
        return new ServerLimits(allowedOrigins, maxConnections, idleTimeout, headerTimeout, minDataRate, n, maxChars);
    }

    public ServerLimits withMaxChars(int n) {
        return new ServerLimits(allowedOrigins, maxConnections, idleTimeout, headerTimeout, minDataRate, maxMessages, n);
    }
}
