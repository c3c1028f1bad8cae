package org.chatglm4j.hub;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TextProgressListenerTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private final AtomicLong clock = new AtomicLong();

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    private static final long SECOND = 1_000_000_000L;

    @Test
    void logModePrintsSparseLinesWithoutCarriageReturns() {
        var l = new TextProgressListener(out, false, 80, 25, clock::get);
        l.fileStarted("pytorch_model.bin", 1000, 0);
        for (long done = 100; done <= 1000; done += 100) {
            clock.addAndGet(SECOND / 5);
            l.progress("pytorch_model.bin", done, 1000);
        }
        l.fileDone("pytorch_model.bin", 1000);

        assertThat(text()).doesNotContain("\r").isEqualTo("""
                Downloading pytorch_model.bin (1000 B)
                  pytorch_model.bin: 30% (300 B of 1000 B, 500 B/s)
                  pytorch_model.bin: 50% (500 B of 1000 B, 500 B/s)
                  pytorch_model.bin: 80% (800 B of 1000 B, 500 B/s)
                  pytorch_model.bin: done, 1000 B in 0:02 (500 B/s)
                """);
    }

    @Test
    void logModeMentionsAResumedStartAndCountsSpeedFromIt() {
        var l = new TextProgressListener(out, false, 80, 25, clock::get);
        l.fileStarted("a.bin", 4096, 2048);
        clock.set(SECOND);
        l.progress("a.bin", 3072, 4096);
        l.fileDone("a.bin", 4096);

        assertThat(text()).isEqualTo("""
                Downloading a.bin (4.0 KiB, resuming at 2.0 KiB)
                  a.bin: 75% (3.0 KiB of 4.0 KiB, 1.0 KiB/s)
                  a.bin: done, 4.0 KiB in 0:01 (2.0 KiB/s)
                """);
    }

    @Test
    void logModeWithUnknownTotalPrintsStartAndEndOnly() {
        var l = new TextProgressListener(out, false);
        l.fileStarted("x", -1, 0);
        l.progress("x", 5, -1);
        l.fileFailed("x", 5, -1);

        assertThat(text()).isEqualTo("Downloading x\n  x: stopped at 5 B\n");
    }

    @Test
    void terminalModeRedrawsOneLineAndEndsItWithANewline() {
        var l = new TextProgressListener(out, true, 80, 10, clock::get);
        l.fileStarted("ice_text.model", 2L << 20, 0);
        clock.set(SECOND);
        l.progress("ice_text.model", 1L << 20, 2L << 20);
        l.message("note");
        clock.set(2 * SECOND);
        l.progress("ice_text.model", 2L << 20, 2L << 20);
        l.fileDone("ice_text.model", 2L << 20);

        String[] draws = text().split("\r");
        assertThat(draws[0]).isEmpty();
        assertThat(draws[1]).isEqualTo("ice_text.model         0% [..................] 0 B/2.0 MiB");
        assertThat(draws[2]).isEqualTo("ice_text.model        50% [#########.........] 1.0/2.0 MiB  1.0 MiB/s"
                + "  ETA 0:01\nnote\n");
        assertThat(draws[3]).isEqualTo("ice_text.model       100% [##################] 2.0/2.0 MiB  1.0 MiB/s\n");
        assertThat(draws).hasSize(4);
        for (int i = 1; i < draws.length; i++) assertThat(draws[i].split("\n")[0].length()).isLessThan(80);
    }

    @Test
    void terminalModeWidensTheBarAndDropsWhatDoesNotFit() {
        var wide = new TextProgressListener(out, true, 100, 10, clock::get);
        wide.fileStarted("ice_text.model", 2L << 20, 0);
        clock.set(SECOND);
        wide.progress("ice_text.model", 1L << 20, 2L << 20);
        assertThat(text().split("\r")[2]).isEqualTo("ice_text.model        50% [###################"
                + "...................] 1.0/2.0 MiB  1.0 MiB/s  ETA 0:01");

        bytes.reset();
        clock.set(0);
        var narrow = new TextProgressListener(out, true, 60, 10, clock::get);
        narrow.fileStarted("ice_text.model", 2000L << 20, 0);
        clock.set(SECOND);
        narrow.progress("ice_text.model", 1000L << 20, 2000L << 20);
        assertThat(text().split("\r")[2]).isEqualTo("ice_text.model        50% [#####.....] 1000.0 MiB/2.0 GiB");
    }

    @Test
    void terminalModePadsAShorterLineOverALongerOne() {
        var l = new TextProgressListener(out, true, 80, 10, clock::get);
        l.fileStarted("f", -1, 0);
        clock.set(SECOND);
        l.progress("f", 1_500_000, -1);
        clock.set(100 * SECOND);
        l.progress("f", 1_600_000, -1);

        String[] draws = text().split("\r");
        assertThat(draws[2]).startsWith("f                    1.4 MiB  1.4 MiB/s");
        assertThat(draws[3]).startsWith("f                    1.5 MiB  15.6 KiB/s");
        assertThat(draws[3].length()).isGreaterThanOrEqualTo(draws[2].length());
    }

    @Test
    void longNamesAreShortened() {
        var l = new TextProgressListener(out, true, 80, 10, clock::get);
        l.fileStarted("pytorch_model-00001-of-00008.bin", 100, 0);
        assertThat(text()).startsWith("\rpytorch_model-000... ");
    }

    @Test
    void rejectsSillySettings() {
        assertThatThrownBy(() -> new TextProgressListener(out, true, 20, 10, clock::get))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TextProgressListener(out, false, 80, 0, clock::get))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
