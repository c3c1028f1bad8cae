package org.chatglm4j.generate;

/** Lets another thread stop a generation between two decoding steps (Ctrl-C, a Stop button, a closed connection). */
public final class Cancellation {
    private volatile boolean cancelled;

    /** Not cancelled yet. */
    public Cancellation() {
    }

    /** Asks the generation to stop; it ends after the current step with {@link FinishReason#CANCELLED}. */
    public void cancel() {
        cancelled = true;
    }

    /** Whether {@link #cancel()} was called. */
    public boolean isCancelled() {
        return cancelled;
    }
}
