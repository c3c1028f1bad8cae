package org.chatglm4j.server;

import org.chatglm4j.chat.BatchingEngine;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many users at once: 32 streaming clients on loopback for 60 s (-Dchatglm.load.seconds, -Dchatglm.load.clients;
 * -Dchatglm.load.batch=N serves through a {@link BatchingEngine} of that width)
 * against the fixture model; one in eight hangs up after its first words. Every stream must end complete or be
 * cancelled by its client, no 5xx, nothing left running, and the heap back where it was. Not part of the default
 * run: {@code mvn -pl chatglm-server -am test -Dtest=LoadTest -DexcludedGroups=none -Dgroups=load
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
@Tag("load")
class LoadTest {
    private static final int MAX_REQUESTS = 100_000;

    @Test
    void thirtyTwoStreamingClientsForAMinute() throws Exception {
        int seconds = Integer.getInteger("chatglm.load.seconds", 60);
        int clients = Integer.getInteger("chatglm.load.clients", 32);
        int batch = Integer.getInteger("chatglm.load.batch", 0); // > 0: through BatchingEngine, which then admits
        try (BatchingEngine batching = batch > 0 ? new BatchingEngine(Fixture.model(), batch, clients * 2) : null;
             ChatServer server = ChatServer.start(ServerOptions.defaults().withPort(0).withMaxConcurrency(batch > 0 ? 0 : 1)
                .withMaxQueue(clients * 2).withRequestTimeout(Duration.ofMinutes(5)), batching != null ? batching : Fixture.model())) {
            URI uri = server.uri();
            Http http = new Http(uri);
            // warm up (class loading, JIT), then take the heap baseline
            for (int i = 0; i < 3; i++) assertThat(run(uri, 16, false)).isEqualTo(Outcome.COMPLETE);
            long heapBefore = settledHeap();

            AtomicInteger complete = new AtomicInteger(), cancelled = new AtomicInteger(), busy = new AtomicInteger();
            AtomicInteger serverErrors = new AtomicInteger(), broken = new AtomicInteger(), started = new AtomicInteger();
            AtomicLong worstMillis = new AtomicLong();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                threads.add(Thread.ofVirtual().name("load-" + c).start(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    while (System.nanoTime() < deadline && started.incrementAndGet() <= MAX_REQUESTS) {
                        long t0 = System.nanoTime();
                        Outcome o;
                        try {
                            o = run(uri, 8 + rnd.nextInt(57), rnd.nextInt(8) == 0);
                        } catch (IOException e) {
                            o = Outcome.BROKEN;
                        }
                        worstMillis.accumulateAndGet(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), Math::max);
                        switch (o) {
                            case COMPLETE -> complete.incrementAndGet();
                            case CANCELLED -> cancelled.incrementAndGet();
                            case BUSY -> busy.incrementAndGet();
                            case SERVER_ERROR -> serverErrors.incrementAndGet();
                            case BROKEN -> broken.incrementAndGet();
                        }
                    }
                }));
            }
            for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(seconds + 300));
            ServerSafetyTest.await(() -> http.get("health").json().get("running").asInt() == 0
                    && http.get("health").json().get("queue").asInt() == 0, "the server is idle");
            long heapAfter = settledHeap();
            String report = ("load (" + (batch > 0 ? "batching engine, batch " + batch : "ChatGLM, one at a time") + "): %d clients, %d s: %d complete, %d cancelled by their client, %d busy (429), %d 5xx, %d broken; slowest %d ms; heap %d MiB before, %d MiB after")
                    .formatted(clients, seconds, complete.get(), cancelled.get(), busy.get(), serverErrors.get(), broken.get(),
                            worstMillis.get(), heapBefore >> 20, heapAfter >> 20);
            System.out.println(report);
            assertThat(serverErrors.get()).as(report).isZero();
            assertThat(broken.get()).as(report).isZero();
            assertThat(busy.get()).as(report).isZero();
            assertThat(complete.get()).as(report).isGreaterThan(clients);
            assertThat(heapAfter - heapBefore).as(report).isLessThan(64L << 20);
            // still serving normally afterwards
            assertThat(run(uri, 4, false)).isEqualTo(Outcome.COMPLETE);
        }
    }

    enum Outcome { COMPLETE, CANCELLED, BUSY, SERVER_ERROR, BROKEN }

    /** One streaming request on its own connection; hangs up after the first words when asked to. */
    static Outcome run(URI uri, int maxTokens, boolean hangUp) throws IOException {
        String body = "{\"stream\": true, \"max_tokens\": " + maxTokens + ", \"messages\": [{\"role\": \"user\", \"content\": \"load test "
                + maxTokens + "\"}]}";
        try (Http.Raw raw = new Http.Raw(uri, "POST", "/v1/chat/completions", body)) {
            raw.socket.setSoTimeout(300_000);
            String status = raw.statusLine();
            if (status == null) return Outcome.BROKEN;
            if (status.contains(" 429 ")) return Outcome.BUSY;
            if (status.matches("HTTP/1\\.1 5\\d\\d.*")) return Outcome.SERVER_ERROR;
            if (!status.contains(" 200 ")) return Outcome.BROKEN;
            boolean finished = false;
            String line;
            while ((line = raw.readUntil(l -> l.startsWith("data: "))) != null) {
                if (line.contains("\"error\"")) return line.contains("\"server_error\"") ? Outcome.SERVER_ERROR : Outcome.BROKEN;
                if (hangUp && line.contains("\"content\":\"") && !line.contains("\"content\":\"\"")) return Outcome.CANCELLED;
                if (line.contains("\"finish_reason\":\"")) finished = true;
                if (line.equals("data: [DONE]")) return finished ? Outcome.COMPLETE : Outcome.BROKEN;
            }
            return Outcome.BROKEN;
        }
    }

    static long settledHeap() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(200);
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
