package org.chatglm4j.eval;

/**
 * Strings as Python's {@code json.dumps(..., ensure_ascii=False)} writes them, so that our files are byte for byte
 * those of the reference: quote, backslash and the five control characters with a short form (newline, carriage
 * return, tab, backspace, form feed) get it, other control characters become a lower-case six-character
 * {@code u00xx} escape, everything else (non-ASCII, U+2028, DEL) stays as it is.
 */
final class PythonJson {
    private PythonJson() {
    }

    static void appendString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
