package org.chatglm4j.cli;

import org.chatglm4j.eval.Predictor;

import java.io.PrintStream;
import java.util.Locale;

/** A progress bar for {@code eval}: redrawn in place on a terminal, a line every 10 % otherwise. */
final class PredictProgress implements Predictor.Listener {
    private static final int WIDTH = 24;
    private final PrintStream err;
    private final boolean terminal;
    private long tokens;
    private int lastTenth = -1;

    PredictProgress(PrintStream err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public void onExample(int done, int total, int generatedTokens, long elapsedNanos) {
        tokens += generatedTokens;
        double seconds = elapsedNanos / 1e9;
        double eta = done == 0 ? 0 : seconds / done * (total - done);
        int filled = (int) ((long) WIDTH * done / total);
        String line = String.format(Locale.ROOT, "chatglm: predict [%s%s] %d/%d  %.1f tokens/s  ETA %s",
                "=".repeat(filled), " ".repeat(WIDTH - filled), done, total, tokens / Math.max(seconds, 1e-9),
                duration(eta));
        if (terminal) {
            err.print("\r" + line + "\033[K");
            err.flush();
        } else {
            int tenth = (int) (10L * done / total);
            if (tenth != lastTenth || done == total) {
                lastTenth = tenth;
                err.println(line);
            }
        }
    }

    void done() {
        if (terminal) {
            err.println();
            err.flush();
        }
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
