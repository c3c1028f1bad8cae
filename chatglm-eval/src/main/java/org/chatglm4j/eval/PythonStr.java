package org.chatglm4j.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * The Python {@code str} operations the metrics rely on, with Python's definition of whitespace ({@code str.isspace},
 * which is also what {@code \s} matches in a {@code re} pattern). Java's {@link Character#isWhitespace} differs
 * (it excludes U+00A0, U+0085, U+2007, U+202F), so it is not used here. Strings are walked by code point, as
 * Python's are.
 */
final class PythonStr {
    private PythonStr() {
    }

    /** {@code chr(cp).isspace()}: bidirectional class WS, B or S, or category Zs (Python 3.11). */
    static boolean isSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0
                || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    /** {@code s.rstrip()}. */
    static String rstrip(String s) {
        int end = s.length();
        while (end > 0 && isSpace(s.codePointBefore(end))) end -= Character.charCount(s.codePointBefore(end));
        return s.substring(0, end);
    }

    /** {@code s.strip()}. */
    static String strip(String s) {
        String r = rstrip(s);
        int start = 0;
        while (start < r.length() && isSpace(r.codePointAt(start))) start += Character.charCount(r.codePointAt(start));
        return r.substring(start);
    }

    /** {@code s.split()}: the non-empty runs between whitespace. */
    static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int i = 0;
        int n = s.length();
        while (i < n) {
            while (i < n && isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
            int start = i;
            while (i < n && !isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
            if (i > start) out.add(s.substring(start, i));
        }
        return out;
    }

    /** {@code list(s)}: the code points of {@code s}. */
    static int[] codePoints(String s) {
        return s.codePoints().toArray();
    }
}
