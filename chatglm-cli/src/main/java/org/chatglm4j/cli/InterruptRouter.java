package org.chatglm4j.cli;

import org.chatglm4j.generate.Cancellation;

/**
 * Decides what Ctrl-C means in the interactive chat: while a reply is being generated it stops that reply (the
 * conversation goes on); at any other moment outside the line editor (which handles its own Ctrl-C) it ends the
 * program with status 130, as an interrupted shell command does.
 */
final class InterruptRouter {
    static final int INTERRUPTED_STATUS = 130;

    private final Runnable exitProgram;
    private volatile Cancellation current;

    /** @param exitProgram ends the program (with status 130); called on Ctrl-C when no reply is running */
    InterruptRouter(Runnable exitProgram) {
        this.exitProgram = exitProgram;
    }

    /** A reply starts: Ctrl-C now cancels it. */
    Cancellation begin() {
        Cancellation c = new Cancellation();
        current = c;
        return c;
    }

    /** The reply is over (finished, failed or cancelled). */
    void end() {
        current = null;
    }

    /** Ctrl-C was pressed (called from the signal-handling thread). */
    void interrupt() {
        Cancellation c = current;
        if (c != null) c.cancel();
        else exitProgram.run();
    }
}
