package org.chatglm4j.server;

import org.chatglm4j.chat.ChatEngine;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A streaming reply computed on its own virtual thread. The engine's listener only queues text deltas, so a slow
 * or vanished client never holds up decoding (a batching engine decodes other users' replies in the same step);
 * the request thread takes the events and writes them.
 */
final class Generation {
    sealed interface Event permits Delta, Done, Failed {
    }

    record Delta(String text) implements Event {
    }

    record Done(ChatResponse response) implements Event {
    }

    record Failed(RuntimeException error) implements Event {
    }

    private final LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();

    /**
     * Starts generating; {@code onEnd} runs on the generating thread once the engine has returned (frees the
     * admission slot only when the engine is really done, even if the client left earlier).
     */
    static Generation start(ChatEngine engine, Conversation conversation, GenerationConfig config,
                            Cancellation cancellation, Runnable onEnd) {
        Generation g = new Generation();
        Thread.ofVirtual().name("chatglm-generate").start(() -> {
            try {
                ChatResponse r = engine.streamChat(conversation.query(), conversation.history(), config,
                        (delta, full) -> {
                            if (!delta.isEmpty()) g.events.add(new Delta(delta));
                        }, cancellation);
                g.events.add(new Done(r));
            } catch (RuntimeException e) {
                g.events.add(new Failed(e));
            } catch (Error e) {
                g.events.add(new Failed(new IllegalStateException("generation failed: " + e, e)));
            } finally {
                onEnd.run();
            }
        });
        return g;
    }

    /** The next event, or null when none came within the time given. */
    Event poll(long timeoutNanos) throws InterruptedException {
        return events.poll(Math.max(timeoutNanos, 0), TimeUnit.NANOSECONDS);
    }
}
