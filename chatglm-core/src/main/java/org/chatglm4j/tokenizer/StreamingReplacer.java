package org.chatglm4j.tokenizer;

/**
 * Python's {@code text.replace(pattern, replacement)} on a stream: occurrences are found left to right without
 * overlap, exactly as on the whole text, so a chain of these equals the chain of {@code str.replace} calls.
 */
final class StreamingReplacer implements TextStage {
    private final String pattern;
    private final String replacement;
    private final StringBuilder held = new StringBuilder();

    StreamingReplacer(String pattern, String replacement) {
        if (pattern.isEmpty()) throw new IllegalArgumentException("empty pattern");
        this.pattern = pattern;
        this.replacement = replacement;
    }

    @Override
    public void accept(CharSequence chunk, StringBuilder out) {
        held.append(chunk);
        scan(false, out);
    }

    @Override
    public void finish(StringBuilder out) {
        scan(true, out);
    }

    private void scan(boolean end, StringBuilder out) {
        int n = held.length();
        int i = 0;
        while (i < n) {
            int matched = matchLength(i);
            if (matched == pattern.length()) {
                out.append(replacement);
                i += matched;
            } else if (matched == n - i && !end) {
                break; // the rest is a proper prefix of the pattern: wait for more text
            } else {
                out.append(held.charAt(i));
                i++;
            }
        }
        held.delete(0, i);
    }

    /** How many characters of the pattern match at {@code at} (stops at the end of the held text). */
    private int matchLength(int at) {
        int k = 0;
        int n = held.length();
        while (k < pattern.length() && at + k < n && held.charAt(at + k) == pattern.charAt(k)) k++;
        return k;
    }
}
