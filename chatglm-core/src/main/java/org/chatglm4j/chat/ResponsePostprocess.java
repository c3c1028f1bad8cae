package org.chatglm4j.chat;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The reference's {@code process_response}: strip, replace the {@code [[训练时间]]} placeholder, and turn the
 * half-width marks {@code , ! : ; ?} directly after or before a CJK ideograph (U+4E00–U+9FFF) into full-width
 * ones, one mark at a time in that order, each with an "after" then a "before" substitution.
 */
public final class ResponsePostprocess {
    private static final char[][] MARKS = {{',', '，'}, {'!', '！'}, {':', '：'}, {';', '；'}, {'?', '？'}};
    private static final Pattern[] AFTER = new Pattern[MARKS.length];
    private static final Pattern[] BEFORE = new Pattern[MARKS.length];

    static {
        for (int i = 0; i < MARKS.length; i++) {
            String mark = Pattern.quote(String.valueOf(MARKS[i][0]));
            AFTER[i] = Pattern.compile("([\\x{4e00}-\\x{9fff}])" + mark);
            BEFORE[i] = Pattern.compile(mark + "([\\x{4e00}-\\x{9fff}])");
        }
    }

    private ResponsePostprocess() {
    }

    /** The response as {@code process_response} returns it (see above). */
    public static String apply(String response) {
        String s = pythonStrip(response).replace("[[训练时间]]", "2023年");
        for (int i = 0; i < MARKS.length; i++) {
            String full = Matcher.quoteReplacement(String.valueOf(MARKS[i][1]));
            s = AFTER[i].matcher(s).replaceAll("$1" + full);
            s = BEFORE[i].matcher(s).replaceAll(full + "$1");
        }
        return s;
    }

    /** Python's {@code str.strip()}: removes Unicode whitespace (as {@code str.isspace} defines it) at both ends. */
    static String pythonStrip(String s) {
        int start = 0, end = s.length();
        while (start < end && isPythonSpace(s.charAt(start))) start++;
        while (end > start && isPythonSpace(s.charAt(end - 1))) end--;
        return s.substring(start, end);
    }

    /** Characters with Unicode bidi class WS, B or S, or category Zs — what Python's str.isspace() accepts. */
    static boolean isPythonSpace(char c) {
        return switch (c) {
            case '\t', '\n', '\u000b', '\u000c', '\r', '\u001c', '\u001d', '\u001e', '\u001f', ' ', '\u0085', '\u00a0',
                 '\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000' -> true;
            default -> c >= '\u2000' && c <= '\u200a';
        };
    }
}
