package org.chatglm4j.server;

import org.chatglm4j.generate.Cancellation;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** A request's time limit and cancellation: past the deadline the generation is cancelled and marked timed out. */
final class RequestControl implements AutoCloseable {
    final Cancellation cancellation = new Cancellation();
    final long deadlineNanos;
    private final ScheduledFuture<?> timer;
    private volatile boolean timedOut;
    private volatile boolean clientGone;

    RequestControl(ScheduledExecutorService scheduler, Duration timeout) {
        long nanos = timeout.toNanos();
        this.deadlineNanos = System.nanoTime() + nanos;
        this.timer = scheduler.schedule(this::expire, nanos, TimeUnit.NANOSECONDS);
    }

    private void expire() {
        timedOut = true;
        cancellation.cancel();
    }

    /** The client went away: nobody will read the reply, so stop computing it. */
    void clientGone() {
        clientGone = true;
        cancellation.cancel();
    }

    boolean timedOut() {
        return timedOut;
    }

    boolean isClientGone() {
        return clientGone;
    }

    @Override
    public void close() {
        timer.cancel(false);
    }
}
