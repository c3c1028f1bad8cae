package org.chatglm4j.tensor;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A dedicated compute pool: {@code threads - 1} worker threads plus the caller. {@link #forRange} splits a range of
 * work items into one contiguous chunk per thread and returns when all chunks are done.
 *
 * <p>Decode issues a few hundred small parallel loops per token, so dispatch must be cheap and allocation-free:
 * workers spin briefly on a generation counter before parking, and the work is a caller-owned {@link RangeTask}
 * (callers reuse task objects instead of allocating lambdas per call). One dispatch at a time: callers from several
 * threads are serialized.
 */
public final class Parallel implements AutoCloseable {

    /**
     * Work over items {@code [start, end)}. {@code worker} is in {@code [0, threads)} and distinct among the chunks
     * running at once, so a task can index per-thread scratch buffers with it.
     */
    @FunctionalInterface
    public interface RangeTask {
        /**
         * Processes items {@code [start, end)} on the thread numbered {@code worker}; called concurrently with other
         * chunks.
         */
        void run(int start, int end, int worker);
    }

    private static final long SPIN_NANOS = 200_000;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private final Object dispatchLock = new Object();
    private volatile int generation;
    private volatile boolean closed;
    // the current job; published by the write to `generation`
    private RangeTask task;
    private int total;
    private int chunks;
    private int pieces;
    private final AtomicInteger nextPiece = new AtomicInteger();
    /** Pieces per thread: enough to even out speed differences, few enough to keep dispatch cheap. */
    private static final int PIECES_PER_THREAD = 4;
    private volatile Throwable failure;

    /**
     * Starts {@code threads - 1} daemon worker threads (the caller of {@link #forRange} is the last); {@code threads}
     * must be at least 1. {@link #close()} stops them.
     */
    public Parallel(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int chunk = i + 1;
            Thread t = new Thread(() -> workerLoop(chunk), "chatglm-compute-" + chunk);
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** A pool sized to the machine's available processors. */
    public static Parallel ofAvailableProcessors() {
        return new Parallel(Runtime.getRuntime().availableProcessors());
    }

    /** Number of threads a dispatch uses, the caller included: the bound of the {@code worker} index. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code task} over {@code [0, n)} on the caller and the workers. The range is cut into a few pieces per
     * thread (never smaller than {@code minPerThread} items) that the threads take in turn, so a thread slowed by
     * a noisy neighbour or a cold cache does not hold the others back. Small ranges run on the caller alone.
     */
    public void forRange(int n, int minPerThread, RangeTask task) {
        if (n <= 0) return;
        int useful = Math.min(threads, Math.max(1, n / Math.max(1, minPerThread)));
        if (useful == 1 || workers.length == 0) {
            task.run(0, n, 0);
            return;
        }
        synchronized (dispatchLock) {
            if (closed) throw new IllegalStateException("compute pool is closed");
            // seqlock: an odd generation means "being written"; workers only take a job whose even generation
            // reads the same before and after they read its fields
            generation = generation + 1;
            this.task = task;
            this.total = n;
            this.chunks = useful;
            this.pieces = Math.min(useful * PIECES_PER_THREAD, Math.max(useful, n / Math.max(1, minPerThread)));
            this.failure = null;
            nextPiece.set(0);
            pending.set(useful - 1);
            generation = generation + 1;
            for (Thread w : workers) LockSupport.unpark(w);
            try {
                runPieces(task, n, pieces, 0);
            } finally {
                long spins = 0;
                while (pending.get() != 0) {
                    if (++spins < 1_000_000) Thread.onSpinWait();
                    else Thread.yield();
                }
                this.task = null;
            }
            Throwable f = failure;
            if (f != null) {
                if (f instanceof RuntimeException re) throw re;
                if (f instanceof Error e) throw e;
                throw new RuntimeException(f);
            }
        }
    }

    /** Takes pieces until none is left; {@code worker} identifies this thread to the task. */
    private void runPieces(RangeTask t, int total, int count, int worker) {
        for (int p; (p = nextPiece.getAndIncrement()) < count; ) {
            int start = (int) ((long) total * p / count);
            int end = (int) ((long) total * (p + 1) / count);
            if (start < end) t.run(start, end, worker);
        }
    }

    private void workerLoop(int chunk) {
        int seen = 0;
        while (true) {
            long spinStart = System.nanoTime();
            int g;
            while ((g = generation) == seen || (g & 1) != 0) {
                if (closed) return;
                if (System.nanoTime() - spinStart < SPIN_NANOS) Thread.onSpinWait();
                else LockSupport.parkNanos(this, 1_000_000);
            }
            if (closed) return;
            RangeTask t = task;
            int n = total;
            int c = chunks;
            int p = pieces;
            if (generation != g) continue; // a newer job is being written: read again
            seen = g;
            if (chunk < c) {
                try {
                    runPieces(t, n, p, chunk);
                } catch (Throwable e) {
                    failure = e;
                } finally {
                    pending.decrementAndGet();
                }
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
