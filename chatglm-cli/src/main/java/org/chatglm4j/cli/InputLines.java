package org.chatglm4j.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Lines of UTF-8 text from standard input, without their {@code \n} or {@code \r\n}, each at most {@code maxChars}
 * long: a longer line is skipped and reported as {@link Line#tooLong()} rather than filling the heap.
 */
final class InputLines {
    /** Far above any prompt a 2048-token model can take, far below what could exhaust the heap. */
    static final int DEFAULT_MAX_CHARS = 16 << 20;

    /** One input line; {@code text} is null when the line was longer than the limit. */
    record Line(int number, String text) {
        boolean tooLong() {
            return text == null;
        }
    }

    private final BufferedReader reader;
    private final int maxChars;
    private final StringBuilder buf = new StringBuilder();
    private int number;
    private boolean eof;

    InputLines(InputStream in, int maxChars) {
        this.reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
        this.maxChars = maxChars;
    }

    InputLines(InputStream in) {
        this(in, DEFAULT_MAX_CHARS);
    }

    /** The next line, or null at the end of the input. */
    Line next() {
        if (eof) return null;
        buf.setLength(0);
        boolean overflow = false;
        boolean any = false;
        try {
            int c;
            while ((c = reader.read()) >= 0) {
                any = true;
                if (c == '\n') break;
                if (buf.length() < maxChars) buf.append((char) c);
                else overflow = true;
            }
            if (c < 0) {
                eof = true;
                if (!any) return null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read standard input: " + e.getMessage(), e);
        }
        number++;
        if (overflow) return new Line(number, null);
        int n = buf.length();
        if (n > 0 && buf.charAt(n - 1) == '\r') buf.setLength(n - 1);
        if (number == 1 && !buf.isEmpty() && buf.charAt(0) == '\uFEFF') buf.deleteCharAt(0);
        return new Line(number, buf.toString());
    }
}
