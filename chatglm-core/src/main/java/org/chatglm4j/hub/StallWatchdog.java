package org.chatglm4j.hub;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;

/**
 * Closes a download stream that has received nothing for a while. The JDK HTTP client bounds the wait for response
 * headers but not a body that stops flowing; closing the stream from here makes the blocked read return, and
 * {@link #fired()} tells the reader why.
 */
final class StallWatchdog implements AutoCloseable {
    private final long timeoutNanos;
    private final Closeable target;
    private final Thread thread;
    private volatile long lastNanos;
    private volatile boolean fired;

    StallWatchdog(Duration timeout, Closeable target) {
        this.timeoutNanos = timeout.toNanos();
        this.target = target;
        this.lastNanos = System.nanoTime();
        long stepMillis = Math.max(10, timeout.toMillis() / 4);
        this.thread = Thread.ofVirtual().name("chatglm4j-download-watchdog").start(() -> watch(stepMillis));
    }

    /** Data arrived. */
    void touch() {
        lastNanos = System.nanoTime();
    }

    boolean fired() {
        return fired;
    }

    private void watch(long stepMillis) {
        try {
            while (true) {
                Thread.sleep(stepMillis);
                if (System.nanoTime() - lastNanos > timeoutNanos) {
                    fired = true;
                    try {
                        target.close();
                    } catch (IOException e) {
                        // the reader sees the closed stream either way
                    }
                    return;
                }
            }
        } catch (InterruptedException e) {
            // closed: the transfer ended on its own
        }
    }

    @Override
    public void close() {
        thread.interrupt();
    }
}
