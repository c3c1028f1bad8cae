package org.chatglm4j.server;

import org.chatglm4j.chat.EngineBusyException;
import org.chatglm4j.generate.Cancellation;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * At most {@code maxConcurrency} requests generate at once and at most {@code maxQueue} wait for a slot; a request
 * beyond both is refused at once ({@link EngineBusyException}) rather than left to pile up. With
 * {@code maxConcurrency} 0 every request is let through and the engine decides (a batching engine has its own
 * bounded queue and throws the same exception).
 */
final class Admission {
    /** How often a waiting request looks at its cancellation (client gone, time limit). */
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final int maxConcurrency;
    private final int maxQueue;
    private final Semaphore slots;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();

    Admission(int maxConcurrency, int maxQueue) {
        this.maxConcurrency = maxConcurrency;
        this.maxQueue = maxQueue;
        this.slots = maxConcurrency > 0 ? new Semaphore(maxConcurrency, true) : null;
    }

    int running() {
        return running.get();
    }

    int waiting() {
        return waiting.get();
    }

    int maxConcurrency() {
        return maxConcurrency;
    }

    int maxQueue() {
        return maxQueue;
    }

    /** Takes a free slot or a place in the queue, or throws {@link EngineBusyException} when both are full. */
    Ticket enter() {
        if (slots == null) return new Ticket(false, false);
        try {
            // the timed form respects the fair ordering: a newcomer does not overtake requests already waiting
            if (slots.tryAcquire(0, TimeUnit.NANOSECONDS)) return new Ticket(true, false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EngineBusyException("interrupted while looking for a free slot");
        }
        if (waiting.incrementAndGet() > maxQueue) {
            waiting.decrementAndGet();
            throw new EngineBusyException("the server is busy: " + maxConcurrency + " requests are running and "
                    + maxQueue + " are waiting");
        }
        return new Ticket(false, true);
    }

    /** One request's claim: a slot, or a place in the queue that {@link #awaitSlot} turns into one. */
    final class Ticket implements AutoCloseable {
        private boolean slot;
        private boolean queued;
        private boolean counted;

        private Ticket(boolean slot, boolean queued) {
            this.slot = slot;
            this.queued = queued;
            if (!queued) countRunning();
        }

        synchronized boolean isQueued() {
            return queued;
        }

        /**
         * Waits until a slot is free, the cancellation fires or the deadline ({@link System#nanoTime()}) passes.
         *
         * @return whether the request may run now
         */
        synchronized boolean awaitSlot(Cancellation cancellation, long deadlineNanos) throws InterruptedException {
            while (queued) {
                if (cancellation.isCancelled()) return false;
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) return false;
                if (slots.tryAcquire(Math.min(left, POLL_NANOS), TimeUnit.NANOSECONDS)) {
                    slot = true;
                    queued = false;
                    waiting.decrementAndGet();
                    countRunning();
                }
            }
            return true;
        }

        private void countRunning() {
            counted = true;
            running.incrementAndGet();
        }

        @Override
        public synchronized void close() {
            if (queued) {
                queued = false;
                waiting.decrementAndGet();
            }
            if (slot) {
                slot = false;
                slots.release();
            }
            if (counted) {
                counted = false;
                running.decrementAndGet();
            }
        }
    }
}
