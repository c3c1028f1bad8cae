package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.generate.Sequence;
import org.chatglm4j.model.Batch;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.Runner;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Many concurrent chats decoded together (continuous batching): one scheduler thread runs forward passes over
 * every active sequence at once, so each weight read serves all of them; new requests join between two steps
 * (their prompt is processed in the same pass as the others' next tokens) and finished or cancelled ones leave.
 *
 * <p>Callers block in {@link #streamChat} as with {@link ChatGLM}; their tokens reach them through a queue and
 * are decoded to text on the caller's thread, so a slow listener (a slow HTTP client) never stalls the batch.
 * At most {@code maxBatch} sequences decode at once; up to {@code maxQueue} more wait, beyond that requests are
 * refused with {@link EngineBusyException}.
 */
public final class BatchingEngine implements ChatEngine, AutoCloseable {
    private static final int DONE = -1;
    /** Decoding steps that fail in a row before the engine reports itself unable to serve. */
    private static final int FAILURES_UNHEALTHY = 3;

    private final ChatGlmTokenizer tokenizer;
    private final ChatGlmModel model;
    private final int maxBatch;
    private final int capacity;
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final BlockingQueue<Job> waiting = new LinkedBlockingQueue<>();
    private final Thread scheduler;
    private volatile boolean closed;
    private volatile int failedSteps;
    /** Test seam: runs on the scheduler before every forward pass (to slow steps down or make them fail). */
    volatile Runnable beforeForward;

    /** A request in flight: filled by the scheduler, drained by the caller. */
    private static final class Job {
        final int[] prompt;
        final GenerationConfig config;
        final Cancellation cancellation;
        final BlockingQueue<Integer> tokens = new LinkedBlockingQueue<>();
        volatile boolean stopRequested;
        volatile boolean cancelledWhileQueued;
        boolean retired;
        volatile RuntimeException failure;
        volatile FinishReason finish;
        Sequence sequence;
        long submitted, firstToken, finished;

        Job(int[] prompt, GenerationConfig config, Cancellation cancellation) {
            this.prompt = prompt;
            this.config = config;
            this.cancellation = cancellation;
        }
    }

    public BatchingEngine(ChatGlmTokenizer tokenizer, ChatGlmModel model, int maxBatch, int maxQueue) {
        if (maxBatch < 1 || maxQueue < 0) throw new IllegalArgumentException("maxBatch >= 1 and maxQueue >= 0");
        this.tokenizer = tokenizer;
        this.model = model;
        this.maxBatch = maxBatch;
        this.capacity = maxBatch + maxQueue;
        this.scheduler = Thread.ofPlatform().name("chatglm-scheduler").daemon(true).start(this::schedule);
    }

    public BatchingEngine(ChatGLM glm, int maxBatch, int maxQueue) {
        this(glm.tokenizer(), glm.model(), maxBatch, maxQueue);
    }

    @Override
    public ChatGlmTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public ChatGlmConfig config() {
        return model.config();
    }

    /** Requests waiting for a slot (not yet decoding). */
    public int queued() {
        return waiting.size();
    }

    /** Requests admitted and not finished: decoding or waiting. */
    public int inFlight() {
        return inFlight.get();
    }

    /**
     * Whether the engine can serve: its scheduler runs and its recent decoding steps did not all fail (a single
     * failed step, e.g. out of memory for one large batch, fails only the requests in it).
     */
    @Override
    public boolean healthy() {
        return !closed && scheduler.isAlive() && failedSteps < FAILURES_UNHEALTHY;
    }

    /** Sequences decoded together at most. */
    public int maxBatch() {
        return maxBatch;
    }

    /** Requests that may wait for a slot beyond {@link #maxBatch()}. */
    public int maxQueue() {
        return capacity - maxBatch;
    }

    @Override
    public ChatResponse streamChat(String query, List<Round> history, GenerationConfig config, ChatListener listener,
                                   Cancellation cancellation) {
        if (closed) throw new IllegalStateException("engine is closed");
        List<Round> past = history == null ? List.of() : List.copyOf(history);
        PreparedPrompt prompt = PreparedPrompt.of(tokenizer, query, past, config);
        Job job = new Job(prompt.ids(), config, cancellation);
        job.submitted = System.nanoTime();
        if (inFlight.incrementAndGet() > capacity) {
            inFlight.decrementAndGet();
            throw new EngineBusyException("too many requests: all " + maxBatch + " slots and the "
                    + (capacity - maxBatch) + " places in the queue are taken");
        }
        waiting.add(job);
        ReplyAssembler reply = new ReplyAssembler(tokenizer, listener, config.stop());
        List<Integer> generated = new ArrayList<>();
        try {
            while (true) {
                Integer token = job.tokens.poll(50, TimeUnit.MILLISECONDS);
                if (token == null) {
                    if (closed) throw new IllegalStateException("engine closed while generating");
                    if (!scheduler.isAlive()) throw new EngineFailureException("the engine's scheduler stopped", null);
                    // still in the queue: a cancelled request (client gone, time limit) leaves it now, not when a
                    // slot frees; if the scheduler took it meanwhile, it sees the cancellation after its next step
                    if (job.cancellation != null && job.cancellation.isCancelled() && waiting.remove(job)) {
                        inFlight.decrementAndGet();
                        job.cancelledWhileQueued = true;
                        job.finish = FinishReason.CANCELLED;
                        break;
                    }
                    continue;
                }
                if (token == DONE) break;
                if (job.stopRequested) continue;   // a stop string was seen; ignore what was already in flight
                generated.add(token);
                if (!reply.onToken(token)) job.stopRequested = true;
            }
        } catch (InterruptedException e) {
            job.stopRequested = true;
            Thread.currentThread().interrupt();
            throw new ChatGlmException("interrupted while generating");
        } catch (RuntimeException | Error e) {
            job.stopRequested = true;   // the listener failed (e.g. the client went away): free the slot
            throw e;
        }
        if (job.failure != null) throw job.failure;
        int[] ids = generated.stream().mapToInt(Integer::intValue).toArray();
        FinishReason reason = reply.stopped() ? FinishReason.STOP : job.finish;
        long prefill = Math.max(0, job.firstToken - job.submitted);
        GenerationResult result = new GenerationResult(prompt.ids(), ids, reason, prefill,
                Math.max(0, job.finished - job.firstToken));
        String response = reply.finish(result);
        List<Round> newHistory = new ArrayList<>(past);
        newHistory.add(new Round(query, response));
        return new ChatResponse(response, List.copyOf(newHistory), reason, prompt.ids().length, ids.length,
                prompt.dropped(), result);
    }

    /** The scheduler: admit, build one batch of every active sequence, run it, hand out tokens, retire. */
    private void schedule() {
        Runner runner = model.newRunner();
        Batch batch = new Batch();
        List<Job> active = new ArrayList<>();
        Job[] bySegment = new Job[maxBatch];
        Runner.LogitsSink sink = (seg, i, logits, off) -> {
            Job j = bySegment[seg];
            int token = j.sequence.accept(logits, off);
            if (j.firstToken == 0) j.firstToken = System.nanoTime();
            j.tokens.add(token);
        };
        while (!closed) {
            try {
                step(runner, batch, active, bySegment, sink);
            } catch (InterruptedException e) {
                break;
            } catch (Throwable t) {
                // any failure (an OutOfMemoryError in the KV cache included) fails the sequences of that step, not
                // the engine: their slots and caches are freed and the scheduler goes on with the next requests
                failedSteps++;
                for (Job j : active) {
                    j.failure = new EngineFailureException("generation failed: " + t, t);
                    retire(j, FinishReason.CANCELLED);
                }
                active.clear();
            }
        }
        for (Job j : active) {
            j.failure = new IllegalStateException("engine closed");
            retire(j, FinishReason.CANCELLED);
        }
    }

    /** One scheduling step: admit waiting requests, decode one token for every active sequence, retire. */
    private void step(Runner runner, Batch batch, List<Job> active, Job[] bySegment, Runner.LogitsSink sink)
            throws InterruptedException {
        if (active.isEmpty()) {
            Job j = waiting.poll(100, TimeUnit.MILLISECONDS);
            if (j == null) return;
            admit(j, active);
        }
        while (active.size() < maxBatch) {
            Job j = waiting.poll();
            if (j == null) break;
            admit(j, active);
        }
        batch.clear();
        int n = 0;
        for (Job j : active) {
            j.sequence.addTo(batch);
            bySegment[n++] = j;
        }
        if (n == 0) return;
        Runnable hook = beforeForward;
        if (hook != null) hook.run();
        runner.forward(batch, sink);
        failedSteps = 0;
        active.removeIf(j -> {
            if (j.sequence.finished()) return retire(j, j.sequence.finishReason());
            if (j.stopRequested) return retire(j, FinishReason.STOP);
            if (j.cancellation != null && j.cancellation.isCancelled()) return retire(j, FinishReason.CANCELLED);
            return false;
        });
    }

    private void admit(Job j, List<Job> active) {
        if (j.stopRequested || (j.cancellation != null && j.cancellation.isCancelled())) {
            retire(j, FinishReason.CANCELLED);
            return;
        }
        try {
            j.sequence = new Sequence(model, j.prompt, j.config);
            active.add(j);
        } catch (RuntimeException | Error e) {
            // the prompt was checked before it was queued: failing to start it (its cache) is the engine's failure
            j.failure = e instanceof ChatGlmException c ? c : new EngineFailureException("could not start the generation: " + e, e);
            retire(j, FinishReason.CANCELLED);
        }
    }

    private boolean retire(Job j, FinishReason reason) {
        if (j.retired) return true;   // a step that failed half-way may have retired some of its jobs already
        j.retired = true;
        inFlight.decrementAndGet();
        if (j.sequence != null) {
            try {
                j.sequence.cache().close();
            } catch (RuntimeException e) {
                // freeing a cache fails only if it is already freed; the caller must still be answered
            }
        }
        j.finish = reason;
        j.finished = System.nanoTime();
        j.tokens.add(DONE);
        return true;
    }

    @Override
    public void close() {
        closed = true;
        scheduler.interrupt();
        try {
            scheduler.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Job j; (j = waiting.poll()) != null; ) {
            j.failure = new IllegalStateException("engine closed");
            retire(j, FinishReason.CANCELLED);
        }
    }
}
