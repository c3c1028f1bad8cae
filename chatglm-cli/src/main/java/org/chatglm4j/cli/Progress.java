package org.chatglm4j.cli;

import java.io.PrintStream;

/** A byte-count progress line on stderr: redrawn in place on a terminal, a line every 25 % otherwise. */
final class Progress {
    private final PrintStream err;
    private final boolean terminal;
    private final String what;
    private long lastDraw;
    private long lastBytes = -1;
    private int lastQuarter;

    Progress(PrintStream err, boolean terminal, String what) {
        this.err = err;
        this.terminal = terminal;
        this.what = what;
    }

    void update(long bytes) {
        long now = System.nanoTime();
        if (terminal) {
            if (now - lastDraw < 100_000_000L) return;
            lastDraw = now;
            err.print("\rchatglm: " + what + ": " + Sizes.bytes(bytes) + "   ");
            err.flush();
        } else if (lastBytes < 0 || bytes >= 2 * Math.max(lastBytes, 1L << 30) || ++lastQuarter % 64 == 0) {
            lastBytes = bytes;
            err.println("chatglm: " + what + ": " + Sizes.bytes(bytes));
        }
    }

    void done() {
        if (terminal) {
            err.print("\r\033[K");
            err.flush();
        }
    }
}
