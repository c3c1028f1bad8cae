package org.chatglm4j.server;

import org.chatglm4j.chat.ChatEngine;
import org.chatglm4j.chat.ChatListener;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real engine (a fixture model) with test controls around it: records what each call got and how it ended, and
 * can hold generations at their first token (a gate) or slow every token down, so that tests can have requests
 * running, waiting and cancelled at known moments.
 */
final class TestEngine implements ChatEngine {
    record Call(String query, List<Round> history, GenerationConfig config, ChatResponse response) {
    }

    record Seen(String query, List<Round> history, GenerationConfig config) {
    }

    private final ChatEngine inner;
    final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
    /** Every request as it reached the engine, before any failure. */
    final ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
    final AtomicInteger started = new AtomicInteger();
    final AtomicInteger active = new AtomicInteger();
    volatile Semaphore gate;           // when set, each generation waits for a permit at its first token
    volatile boolean gateIgnoresCancellation; // hold even a cancelled generation (a slow engine step)
    volatile long tokenDelayMillis;    // when > 0, each token takes at least this long
    volatile RuntimeException failWith; // when set, calls fail with it at once
    volatile CountDownLatch firstToken = new CountDownLatch(1);
    volatile boolean healthy = true;   // what healthy() reports

    TestEngine(ChatEngine inner) {
        this.inner = inner;
    }

    @Override
    public ChatResponse streamChat(String query, List<Round> history, GenerationConfig config, ChatListener listener,
                                   Cancellation cancellation) {
        seen.add(new Seen(query, history, config));
        RuntimeException f = failWith;
        if (f != null) throw f;
        started.incrementAndGet();
        active.incrementAndGet();
        try {
            boolean[] first = {true};
            Semaphore g = gate;
            long delay = tokenDelayMillis;
            ChatListener wrapped = (delta, full) -> {
                if (first[0]) {
                    first[0] = false;
                    firstToken.countDown();
                    if (g != null) {
                        try {
                            while (!g.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                                if (!gateIgnoresCancellation && cancellation != null && cancellation.isCancelled()) break;
                            }
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }
                if (delay > 0) sleep(delay);
                if (listener != null) listener.onUpdate(delta, full);
            };
            ChatResponse r = inner.streamChat(query, history, config, wrapped, cancellation);
            calls.add(new Call(query, history, config, r));
            return r;
        } finally {
            active.decrementAndGet();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    Call lastCall() {
        Call last = null;
        for (Call c : calls) last = c;
        return last;
    }

    Seen lastSeen() {
        Seen last = null;
        for (Seen c : seen) last = c;
        return last;
    }

    void reset() {
        calls.clear();
        seen.clear();
        gate = null;
        gateIgnoresCancellation = false;
        tokenDelayMillis = 0;
        failWith = null;
        healthy = true;
        firstToken = new CountDownLatch(1);
    }

    @Override
    public org.chatglm4j.chat.ConversationResponse streamChat(List<org.chatglm4j.chat.Message> history,
                                                              org.chatglm4j.chat.Message message, GenerationConfig config,
                                                              ChatListener listener, Cancellation cancellation) {
        return inner.streamChat(history, message, config, listener, cancellation);
    }

    @Override
    public org.chatglm4j.chat.ChatFormat chatTemplate() {
        return inner.chatTemplate();
    }

    @Override
    public org.chatglm4j.chat.PromptTokenizer promptTokenizer() {
        return inner.promptTokenizer();
    }

    @Override
    public boolean healthy() {
        return healthy && inner.healthy();
    }

    @Override
    public ChatGlmTokenizer tokenizer() {
        return inner.tokenizer();
    }

    @Override
    public ChatGlmConfig config() {
        return inner.config();
    }
}
