package org.chatglm4j.generate;

/** Lets another thread stop a generation between two decoding steps (Ctrl-C, a Stop button, a closed connection). */
public final class Cancellation {
    private volatile boolean cancelled;

    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }
}
