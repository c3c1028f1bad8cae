package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.BeamSearch;
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
 *
 * <p>A beam search request ({@code num_beams} K > 1) runs as K sequences of the batch: it takes K slots (all of
 * them, alone, when K exceeds {@code maxBatch}), joins when that many are free (requests behind it wait, first come
 * first served), and its reply reaches the caller in one piece when the search ends.
 */
public final class BatchingEngine implements ChatEngine, AutoCloseable {
    private static final int DONE = -1;
    /** Decoding steps that fail in a row before the engine reports itself unable to serve. */
    private static final int FAILURES_UNHEALTHY = 3;

    private final ChatGlmTokenizer tokenizer;
    private final ChatGlmModel model;
    private final ChatFormat format;
    private final PromptTokenizer prompts;
    private final int maxBatch;
    private final int capacity;
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    private final BlockingQueue<Job> waiting = new LinkedBlockingQueue<>();
    private final Thread scheduler;
    private volatile boolean closed;
    private volatile long kvCacheBytes;   // written by the scheduler after every step
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
        BeamSearch beams;
        long submitted, firstToken, finished;

        Job(int[] prompt, GenerationConfig config, Cancellation cancellation) {
            this.prompt = prompt;
            this.config = config;
            this.cancellation = cancellation;
        }

        /** Batch slots (sequences) this request decodes. */
        int slots() {
            return config.numBeams();
        }

        boolean done() {
            return beams != null ? beams.finished() : sequence.finished();
        }

        FinishReason finishReason() {
            return beams != null ? beams.finishReason() : sequence.finishReason();
        }
    }

    /** Starts the scheduler thread; {@code maxBatch} sequences decode together, {@code maxQueue} more may wait. */
    public BatchingEngine(ChatGlmTokenizer tokenizer, ChatGlmModel model, int maxBatch, int maxQueue) {
        this(tokenizer, model, Glm1ChatFormat.INSTANCE, PromptTokenizer.of(tokenizer), maxBatch, maxQueue);
    }

    /**
     * Starts the scheduler thread, with the prompt format and prompt tokenizer of the model's generation; {@code
     * maxBatch} sequences decode together, {@code maxQueue} more may wait. The model is shared, not owned.
     */
    public BatchingEngine(ChatGlmTokenizer tokenizer, ChatGlmModel model, ChatFormat format, PromptTokenizer prompts,
                          int maxBatch, int maxQueue) {
        if (maxBatch < 1 || maxQueue < 0) throw new IllegalArgumentException("maxBatch >= 1 and maxQueue >= 0");
        this.tokenizer = tokenizer;
        this.model = model;
        this.format = format;
        this.prompts = prompts;
        this.maxBatch = maxBatch;
        this.capacity = maxBatch + maxQueue;
        this.scheduler = Thread.ofPlatform().name("chatglm-scheduler").daemon(true).start(this::schedule);
    }

    /** A batching engine over a loaded model (which stays the caller's to close). */
    public BatchingEngine(ChatGLM glm, int maxBatch, int maxQueue) {
        this(glm.glm2Tokenizer() == null ? glm.tokenizer() : null, glm.model(), glm.chatTemplate(),
                glm.promptTokenizer(), maxBatch, maxQueue);
    }

    /** ChatGLM-6B's tokenizer (a clear error for a ChatGLM2/3 model: see {@link #promptTokenizer()}). */
    @Override
    public ChatGlmTokenizer tokenizer() {
        if (tokenizer == null) throw new ChatGlmException("a ChatGLM2/3 model has no ChatGLM-6B tokenizer");
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

    /** Bytes of attention cache held by the sequences decoding now (as of the last step). */
    public long kvCacheBytes() {
        return kvCacheBytes;
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
    public ChatFormat chatTemplate() {
        return format;
    }

    @Override
    public PromptTokenizer promptTokenizer() {
        return prompts;
    }

    @Override
    public ChatResponse streamChat(String query, List<Round> history, GenerationConfig config, ChatListener listener,
                                   Cancellation cancellation) {
        return ChatTurns.viaMessages(this, query, history, config, listener, cancellation);
    }

    @Override
    public ConversationResponse streamChat(List<Message> history, Message message, GenerationConfig config,
                                           ChatListener listener, Cancellation cancellation) {
        if (closed) throw new IllegalStateException("engine is closed");
        List<Message> past = history == null ? List.of() : List.copyOf(history);
        config.checkBeamSearch();
        List<Message> seen = ChatTurns.withTurn(past, message);
        PreparedPrompt prompt = format.prepare(prompts, past, message, config);
        Job job = new Job(prompt.ids(), format.forChat(config, prompts), cancellation);
        job.submitted = System.nanoTime();
        if (inFlight.incrementAndGet() > capacity) {
            inFlight.decrementAndGet();
            throw new EngineBusyException("too many requests: all " + maxBatch + " slots and the "
                    + (capacity - maxBatch) + " places in the queue are taken");
        }
        waiting.add(job);
        ReplyAssembler reply = new ReplyAssembler(format, prompts, seen, listener, config.stop());
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
                // beam search: the whole reply arrives at the end and goes to the listener in one piece
                if (!config.beamSearch() && !reply.onToken(token)) job.stopRequested = true;
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
        ChatFormat.Reply r = reply.finish(result);
        seen.addAll(r.added());
        return new ConversationResponse(r.reply(), List.copyOf(seen), reason, prompt.ids().length, ids.length,
                prompt.dropped(), result);
    }

    /** The scheduler: admit, build one batch of every active sequence, run it, hand out tokens, retire. */
    private void schedule() {
        Runner runner = model.newRunner();
        Batch batch = new Batch();
        List<Job> active = new ArrayList<>();
        Job[][] bySegment = {new Job[maxBatch]};
        int[][] beamOf = {new int[maxBatch]};   // a beam search's segments: which of its beams
        Runner.LogitsSink sink = (seg, i, logits, off) -> {
            Job j = bySegment[0][seg];
            if (j.beams != null) {
                if (j.firstToken == 0) j.firstToken = System.nanoTime();
                j.beams.accept(beamOf[0][seg], logits, off);
                if (j.beams.finished()) for (int t : j.beams.generatedIds()) j.tokens.add(t);
                return;
            }
            int token = j.sequence.accept(logits, off);
            if (j.firstToken == 0) j.firstToken = System.nanoTime();
            j.tokens.add(token);
        };
        while (!closed) {
            try {
                step(runner, batch, active, bySegment, beamOf, sink);
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
                kvCacheBytes = 0;
            }
        }
        for (Job j : active) {
            j.failure = new IllegalStateException("engine closed");
            retire(j, FinishReason.CANCELLED);
        }
    }

    /** One scheduling step: admit waiting requests, decode one token for every active sequence, retire. */
    private void step(Runner runner, Batch batch, List<Job> active, Job[][] bySegment, int[][] beamOf,
                      Runner.LogitsSink sink) throws InterruptedException {
        if (active.isEmpty()) {
            Job j = waiting.poll(100, TimeUnit.MILLISECONDS);
            if (j == null) return;
            admit(j, active);
        }
        int used = 0;
        for (Job j : active) used += j.slots();
        // first come, first served: a beam search waits for its K slots and the requests behind it too
        for (Job j; (j = waiting.peek()) != null && (active.isEmpty() || used + j.slots() <= maxBatch); ) {
            waiting.poll();
            admit(j, active);
            used += j.slots();
        }
        if (bySegment[0].length < used) {
            bySegment[0] = new Job[used];
            beamOf[0] = new int[used];
        }
        batch.clear();
        for (Job j : active) {
            int first = batch.size();
            if (j.beams != null) j.beams.addTo(batch);
            else j.sequence.addTo(batch);
            for (int s = first; s < batch.size(); s++) {
                bySegment[0][s] = j;
                beamOf[0][s] = s - first;
            }
        }
        if (batch.size() == 0) return;
        Runnable hook = beforeForward;
        if (hook != null) hook.run();
        runner.forward(batch, sink);
        failedSteps = 0;
        active.removeIf(j -> {
            if (j.done()) return retire(j, j.finishReason());
            if (j.stopRequested) return retire(j, FinishReason.STOP);
            if (j.cancellation != null && j.cancellation.isCancelled()) return retire(j, FinishReason.CANCELLED);
            return false;
        });
        long kv = 0;
        for (Job j : active) kv += j.beams != null ? j.beams.cacheBytes() : j.sequence.cache().bytes();
        kvCacheBytes = kv;
    }

    private void admit(Job j, List<Job> active) {
        if (j.stopRequested || (j.cancellation != null && j.cancellation.isCancelled())) {
            retire(j, FinishReason.CANCELLED);
            return;
        }
        try {
            if (j.config.beamSearch()) j.beams = new BeamSearch(model, j.prompt, j.config);
            else j.sequence = new Sequence(model, j.prompt, j.config);
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
        if (j.beams != null) {
            try {
                j.beams.close();
            } catch (RuntimeException e) {
                // as above: the caller must still be answered
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
