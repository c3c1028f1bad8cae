package org.chatglm4j.hub;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Prints download progress as text. On a terminal one bar per file is redrawn in place with {@code \r}:
 * <pre>pytorch_model-00001  45% [#########...........] 1.2 GiB/2.7 GiB  35.2 MiB/s  ETA 0:42</pre>
 * Elsewhere (a log file, a pipe) it writes a line when a file starts, at every {@code stepPercent} of progress and
 * when it ends, so logs stay short. Plain ASCII, no library.
 */
public final class TextProgressListener implements DownloadListener {
    private static final int NAME_WIDTH = 20;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    /** Speed and ETA are noise before this much time has passed. */
    private static final long MIN_SPEED_NANOS = NANOS_PER_SECOND / 2;

    private final PrintStream out;
    private final boolean terminal;
    private final int width;
    private final int stepPercent;
    private final LongSupplier nanoTime;

    private String file;
    private long startNanos;
    private long startBytes;
    private int nextPercent;
    private long lastDone;
    /** Length of the bar now on screen without a newline (terminal mode), 0 when none. */
    private int openLine;
    /** The bar text now on screen, to skip identical redraws. */
    private String shown;

    /**
     * A progress bar on {@code out}.
     *
     * @param terminal    redraw one line in place (true) or print sparse lines (false)
     * @param width       terminal width in columns
     * @param stepPercent progress line spacing when not on a terminal
     * @param nanoTime    clock for speed and ETA
     */
    public TextProgressListener(PrintStream out, boolean terminal, int width, int stepPercent,
                                LongSupplier nanoTime) {
        if (width < 40) throw new IllegalArgumentException("width < 40: " + width);
        if (stepPercent < 1 || stepPercent > 100) throw new IllegalArgumentException("stepPercent " + stepPercent);
        this.out = out;
        this.terminal = terminal;
        this.width = width;
        this.stepPercent = stepPercent;
        this.nanoTime = nanoTime;
    }

    /** A progress bar of 80 columns on {@code out}, a line per 10 % when not on a terminal. */
    public TextProgressListener(PrintStream out, boolean terminal) {
        this(out, terminal, 80, 10, System::nanoTime);
    }

    /**
     * Progress on {@code System.err}, redrawn in place when the process runs on a terminal. (The JDK can only tell
     * whether the console as a whole is interactive, not stderr alone; a redirected stderr with an interactive
     * stdin/stdout still gets bars.)
     */
    public static TextProgressListener forStderr() {
        var console = System.console();
        return new TextProgressListener(System.err, console != null && console.isTerminal());
    }

    @Override
    public void message(String text) {
        closeLine();
        out.println(text);
        out.flush();
    }

    @Override
    public void fileStarted(String name, long totalBytes, long resumedFrom) {
        closeLine();
        file = name;
        startNanos = nanoTime.getAsLong();
        startBytes = resumedFrom;
        lastDone = resumedFrom;
        nextPercent = totalBytes > 0 ? nextStep(percent(resumedFrom, totalBytes)) : 101;
        if (terminal) {
            draw(resumedFrom, totalBytes);
        } else {
            StringBuilder line = new StringBuilder("Downloading ").append(name);
            if (totalBytes >= 0) line.append(" (").append(ByteSizes.format(totalBytes));
            if (resumedFrom > 0) {
                line.append(totalBytes >= 0 ? ", " : " (").append("resuming at ").append(ByteSizes.format(resumedFrom));
            }
            if (totalBytes >= 0 || resumedFrom > 0) line.append(')');
            out.println(line);
        }
        out.flush();
    }

    @Override
    public void progress(String name, long bytesDone, long totalBytes) {
        lastDone = bytesDone;
        if (terminal) {
            draw(bytesDone, totalBytes);
        } else if (totalBytes > 0) {
            int p = percent(bytesDone, totalBytes);
            if (p < nextPercent || p >= 100) return;
            nextPercent = nextStep(p);
            out.println("  " + name + ": " + p + "% (" + ByteSizes.format(bytesDone) + " of "
                    + ByteSizes.format(totalBytes) + speedSuffix(bytesDone, ", ", "") + ")");
        } else {
            return;
        }
        out.flush();
    }

    @Override
    public void fileDone(String name, long totalBytes) {
        if (terminal) {
            draw(totalBytes >= 0 ? totalBytes : lastDone, totalBytes);
            closeLine();
        } else {
            long elapsed = nanoTime.getAsLong() - startNanos;
            out.println("  " + name + ": done, " + (totalBytes >= 0 ? ByteSizes.format(totalBytes) + " " : "")
                    + "in " + ByteSizes.duration(elapsed / NANOS_PER_SECOND)
                    + (totalBytes >= 0 ? speedSuffix(totalBytes, " (", ")") : ""));
        }
        out.flush();
        file = null;
    }

    @Override
    public void fileFailed(String name, long bytesDone, long totalBytes) {
        closeLine();
        if (!terminal) {
            out.println("  " + name + ": stopped at " + ByteSizes.format(bytesDone)
                    + (totalBytes >= 0 ? " of " + ByteSizes.format(totalBytes) : ""));
        }
        out.flush();
        file = null;
    }

    private void draw(long done, long total) {
        String name = file == null ? "" : file;
        if (name.length() > NAME_WIDTH) name = name.substring(0, NAME_WIDTH - 3) + "...";
        StringBuilder line = new StringBuilder(width);
        line.append(name).repeat(" ", NAME_WIDTH - name.length() + 1);
        if (total > 0) {
            // a bar of fixed width, so that it does not jump while the text after it changes length
            int barWidth = Math.clamp(width - 62, 10, 40);
            int filled = (int) Math.min(barWidth, (long) ((double) done / total * barWidth));
            line.append(String.format(Locale.ROOT, "%3d%% ", percent(done, total)))
                    .append('[').repeat("#", filled).repeat(".", barWidth - filled).append("] ");
        }
        line.append(total >= 0 ? sizes(done, total) : ByteSizes.format(done));
        // speed and ETA only when they fit whole; the last column is left free so no terminal wraps the line
        for (String optional : new String[]{speedSuffix(done, "  ", ""), eta(done, total)}) {
            if (line.length() + optional.length() > width - 1) break;
            line.append(optional);
        }
        if (line.length() > width - 1) line.setLength(width - 1);
        String text = line.toString();
        if (text.equals(shown)) return;
        out.print("\r" + text + " ".repeat(Math.max(0, openLine - text.length())));
        shown = text;
        openLine = text.length();
    }

    /** {@code 1.2/2.7 GiB}, or {@code 900.0 KiB/1.2 MiB} when the units differ. */
    private static String sizes(long done, long total) {
        String d = ByteSizes.format(done);
        String t = ByteSizes.format(total);
        int space = d.lastIndexOf(' ');
        if (space > 0 && t.endsWith(d.substring(space))) return d.substring(0, space) + "/" + t;
        return d + "/" + t;
    }

    private void closeLine() {
        if (openLine > 0) {
            out.println();
            openLine = 0;
        }
        shown = null;
    }

    private String speedSuffix(long done, String before, String after) {
        long elapsed = nanoTime.getAsLong() - startNanos;
        if (elapsed < MIN_SPEED_NANOS) return "";
        double perSecond = (done - startBytes) * (double) NANOS_PER_SECOND / elapsed;
        return before + ByteSizes.format((long) perSecond) + "/s" + after;
    }

    private String eta(long done, long total) {
        long elapsed = nanoTime.getAsLong() - startNanos;
        long moved = done - startBytes;
        if (total <= 0 || elapsed < MIN_SPEED_NANOS || moved <= 0 || done >= total) return "";
        double secondsLeft = (total - done) * (elapsed / (double) NANOS_PER_SECOND) / moved;
        return "  ETA " + ByteSizes.duration((long) Math.ceil(secondsLeft));
    }

    private static int percent(long done, long total) {
        return (int) Math.min(100, done * 100.0 / total);
    }

    private int nextStep(int p) {
        return (p / stepPercent + 1) * stepPercent;
    }
}
