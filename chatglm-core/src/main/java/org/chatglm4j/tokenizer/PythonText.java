package org.chatglm4j.tokenizer;

import java.util.Locale;

/** The few Python {@code str} operations the HF-level tokenizer relies on, with Python's definitions. */
final class PythonText {
    private PythonText() {
    }

    /** Python's {@code str.isspace()} for one code point (bidi class WS/B/S or category Zs). */
    static boolean isSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0
                || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    static String lstrip(String s) {
        int i = 0;
        while (i < s.length() && isSpace(s.codePointAt(i))) i += Character.charCount(s.codePointAt(i));
        return s.substring(i);
    }

    static String rstrip(String s) {
        int j = s.length();
        while (j > 0 && isSpace(s.codePointBefore(j))) j -= Character.charCount(s.codePointBefore(j));
        return s.substring(0, j);
    }

    /** {@code " ".join(s.split())}: whitespace runs become one space, leading and trailing ones vanish. */
    static String collapseWhitespace(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean pendingSpace = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (isSpace(cp)) {
                pendingSpace = out.length() > 0;
            } else {
                if (pendingSpace) out.append(' ');
                pendingSpace = false;
                out.appendCodePoint(cp);
            }
        }
        return out.toString();
    }

    /**
     * Lower-cases one code point the way Python's {@code str.lower()} does for a one-character string (full case
     * mapping, e.g. İ → i̇, no context-dependent final sigma).
     */
    static void appendLower(int cp, StringBuilder out) {
        if (cp < 0x80) {
            out.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
        } else {
            out.append(new String(Character.toChars(cp)).toLowerCase(Locale.ROOT));
        }
    }

    static String lower(String s) {
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            appendLower(cp, out);
            i += Character.charCount(cp);
        }
        return out.toString();
    }
}
