package org.chatglm4j.server;

import org.chatglm4j.chat.BatchingEngine;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A hostile crowd on loopback against a server with the fixture model (through {@link BatchingEngine}), bounded in
 * time and count, while 8 well-behaved streaming clients go on: slowloris clients, 1,000 connections opened and
 * dropped, hang-ups mid-stream and mid-queue, oversized and deeply nested JSON, invalid UTF-8, a context of 10^9,
 * 100,000 history rounds, cross-site form posts and a rebinding Host. Every well-behaved stream must complete, no
 * request may get a 5xx, and afterwards the heap and direct memory are back near their baseline, nothing runs and
 * {@code /health} is ok. Part of the default run (tag {@code abuse}, about a minute); the figures it prints are in
 * docs/reliability.md.
 */
@Tag("abuse")
class AbuseTest {
    static final int GOOD_CLIENTS = 8;
    static final int GOOD_REQUESTS_EACH = 4;

    @Test
    void wellBehavedClientsAreServedWhileOthersAbuseTheServer() throws Exception {
        ServerOptions options = ServerOptions.defaults().withPort(0).withMaxConcurrency(0).withMaxQueue(32)
                .withRequestTimeout(Duration.ofSeconds(30))
                .withLimits(ServerLimits.defaults().withHeaderTimeout(Duration.ofSeconds(2)).withMaxConnections(256));
        try (BatchingEngine engine = new BatchingEngine(Fixture.model(), 8, 32);
             ChatServer server = ChatServer.start(options, engine)) {
            URI uri = server.uri();
            Http http = new Http(uri);
            for (int i = 0; i < 3; i++) assertThat(LoadTest.run(uri, 16, false)).isEqualTo(LoadTest.Outcome.COMPLETE);
            long heapBefore = LoadTest.settledHeap();
            long directBefore = direct();
            long rssBefore = rss();
            long t0 = System.nanoTime();

            Map<String, AtomicInteger> tally = new ConcurrentHashMap<>();
            AtomicInteger fiveXx = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            // the well-behaved: 8 clients streaming one request after another
            AtomicInteger goodComplete = new AtomicInteger(), goodOther = new AtomicInteger();
            for (int c = 0; c < GOOD_CLIENTS; c++) {
                threads.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < GOOD_REQUESTS_EACH; i++) {
                        try {
                            LoadTest.Outcome o = LoadTest.run(uri, 24, false);
                            (o == LoadTest.Outcome.COMPLETE ? goodComplete : goodOther).incrementAndGet();
                            if (o == LoadTest.Outcome.SERVER_ERROR) fiveXx.incrementAndGet();
                        } catch (IOException e) {
                            goodOther.incrementAndGet();
                        }
                    }
                }));
            }
            // the abusers, all at once
            threads.add(Thread.ofVirtual().start(() -> slowloris(uri, 40, tally)));
            threads.add(Thread.ofVirtual().start(() -> openAndDrop(uri, 1000, tally)));
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 12; i++) hangUp(uri, i % 2 == 0, tally);
            }));
            threads.add(Thread.ofVirtual().start(() -> junk(http, tally, fiveXx)));
            for (Thread t : threads) t.join(TimeUnit.MINUTES.toMillis(3));
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);

            ServerSafetyTest.await(() -> engine.inFlight() == 0, "nothing left running");
            long heapAfter = LoadTest.settledHeap();
            long directAfter = direct();
            long rssAfter = rss();
            Http.Reply health = http.get("health");
            String report = ("abuse: %d s; well-behaved %d/%d streams complete, other %d; 5xx %d; %s; heap %d -> %d MiB,"
                    + " direct buffers %d -> %d KiB, RSS %d -> %d MiB; health %d %s").formatted(seconds,
                    goodComplete.get(), GOOD_CLIENTS * GOOD_REQUESTS_EACH, goodOther.get(), fiveXx.get(), new java.util.TreeMap<>(tally),
                    heapBefore >> 20, heapAfter >> 20, directBefore >> 10, directAfter >> 10, rssBefore >> 20,
                    rssAfter >> 20, health.status(), health.body());
            System.out.println(report);
            assertThat(goodComplete.get()).as(report).isEqualTo(GOOD_CLIENTS * GOOD_REQUESTS_EACH);
            assertThat(fiveXx.get()).as(report).isZero();
            assertThat(tally.keySet()).as(report).noneMatch(k -> k.contains("UNEXPECTED") || k.contains("failed"));
            assertThat(tally.getOrDefault("slowloris cut off", new AtomicInteger()).get()).as(report).isEqualTo(40);
            assertThat(heapAfter - heapBefore).as(report).isLessThan(64L << 20);
            assertThat(directAfter - directBefore).as(report).isLessThan(32L << 20);
            assertThat(health.status()).as(report).isEqualTo(200);
            assertThat(health.json().get("status").asText()).isEqualTo("ok");
            assertThat(LoadTest.run(uri, 8, false)).isEqualTo(LoadTest.Outcome.COMPLETE);
        }
    }

    private static void count(Map<String, AtomicInteger> tally, String what) {
        tally.computeIfAbsent(what, k -> new AtomicInteger()).incrementAndGet();
    }

    /** Clients that send their request head one byte every 300 ms: each must be cut off by the server. */
    private static void slowloris(URI uri, int n, Map<String, AtomicInteger> tally) {
        List<Thread> ts = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            ts.add(Thread.ofVirtual().start(() -> {
                byte[] head = ("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(200))
                        .getBytes(StandardCharsets.US_ASCII);
                try (Socket s = new Socket(uri.getHost(), uri.getPort())) {
                    s.setSoTimeout(300);
                    OutputStream out = s.getOutputStream();
                    InputStream in = s.getInputStream();
                    for (byte b : head) {
                        out.write(b);
                        out.flush();
                        try {
                            if (in.read() < 0) {
                                count(tally, "slowloris cut off");
                                return;
                            }
                        } catch (SocketTimeoutException e) {
                            // nothing yet
                        }
                    }
                    count(tally, "slowloris never cut off");
                } catch (IOException e) {
                    count(tally, "slowloris cut off");   // reset by the server
                }
            }));
        }
        for (Thread t : ts) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Connections opened and dropped at once, some after half a request. */
    private static void openAndDrop(URI uri, int n, Map<String, AtomicInteger> tally) {
        for (int i = 0; i < n; i++) {
            try (Socket s = new Socket(uri.getHost(), uri.getPort())) {
                if (i % 3 == 0) s.getOutputStream().write("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"
                        .getBytes(StandardCharsets.US_ASCII));
                s.setSoLinger(true, 0);   // a reset rather than a clean close, for half of them
            } catch (IOException e) {
                count(tally, "drop failed to connect");
            }
            count(tally, "opened and dropped");
        }
    }

    /** A stream dropped after its first words, or right after the request (still in the queue or prefill). */
    private static void hangUp(URI uri, boolean midStream, Map<String, AtomicInteger> tally) {
        String body = "{\"stream\": true, \"max_tokens\": 400, \"messages\": [{\"role\": \"user\", \"content\": \"hang up\"}]}";
        try (Http.Raw raw = new Http.Raw(uri, "POST", "/v1/chat/completions", body)) {
            if (midStream) {
                raw.statusLine();
                raw.readUntil(l -> l.startsWith("data: ") && l.contains("\"content\":\"") && !l.contains("\"content\":\"\""));
                count(tally, "hung up mid-stream");
            } else {
                count(tally, "hung up mid-queue");
            }
        } catch (IOException e) {
            count(tally, "hang-up failed");
        }
    }

    /** Requests no server should do work for: each must get its 4xx. */
    private static void junk(Http http, Map<String, AtomicInteger> tally, AtomicInteger fiveXx) {
        record Case(String name, int status, java.util.function.Supplier<Http.Reply> send) {
        }
        String nested = "[".repeat(100_000) + "]".repeat(100_000);
        StringBuilder flood = new StringBuilder("{\"prompt\": \"hi\", \"max_length\": 5, \"history\": [");
        for (int i = 0; i < 100_000; i++) flood.append(i == 0 ? "" : ",").append("[\"\",\"\"]");
        flood.append("]}");
        byte[] badUtf8 = "{\"messages\": [{\"role\": \"user\", \"content\": \"\u00ff\"}]}".getBytes(StandardCharsets.ISO_8859_1);
        List<Case> cases = List.of(
                new Case("oversized JSON", 413, () -> http.post("v1/chat/completions", "{\"messages\": \"" + "x".repeat(2 << 20) + "\"}")),
                new Case("deeply nested JSON", 400, () -> http.post("v1/chat/completions", nested)),
                new Case("invalid UTF-8", 400, () -> http.postBytes("v1/chat/completions", badUtf8)),
                new Case("context of 10^9 (OpenAI)", 400, () -> http.post("v1/chat/completions",
                        "{\"max_tokens\": 1000000000, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}")),
                new Case("100,000 history rounds", 400, () -> http.post("", flood.toString())),
                new Case("cross-site text/plain POST", 415, () -> http.post("", "{\"prompt\": \"hi\"}", "text/plain")));
        for (int round = 0; round < 5; round++) {
            for (Case c : cases) {
                Http.Reply r;
                try {
                    r = c.send().get();
                } catch (java.io.UncheckedIOException e) {
                    // the server answered 413 and closed while the client was still sending: also a refusal
                    count(tally, c.name() + (c.status() == 413 ? " closed" : " UNEXPECTED " + e.getCause()));
                    continue;
                }
                if (r.status() >= 500) fiveXx.incrementAndGet();
                count(tally, c.name() + (r.status() == c.status() ? " " + c.status() : " UNEXPECTED " + r.status()));
            }
        }
        // a context of 10^9 on the reference API is capped at the model's (2048): served, or cut at the time limit
        long t = System.nanoTime();
        Http.Reply r = http.post("", "{\"prompt\": \"hi\", \"max_length\": 1000000000}");
        boolean bounded = r.status() == 200 || r.status() == 504;
        if (!bounded) fiveXx.incrementAndGet();
        count(tally, "reference max_length 10^9 " + r.status() + (bounded ? "" : " UNEXPECTED") + " in "
                + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t) + " s");
    }

    private static long direct() {
        long n = 0;
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) n += b.getMemoryUsed();
        }
        return n;
    }

    /** Resident memory of this JVM (heap, native allocations such as KV caches, code), from /proc. */
    private static long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) << 10;
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: not reported
        }
        return 0;
    }
}
