package org.chatglm4j.tokenizer;

/**
 * The text side of ChatGLM's whitespace pieces ({@code SPTokenizer.postprocess}): {@code <n>} → newline,
 * {@code <|tab|>} → tab, {@code <|blank_k|>} → k spaces (k = 2 … max). The reference applies one
 * {@code str.replace} per token; since every token runs from a '<' to the next '>' with neither inside, and the
 * replacements contain neither, their occurrences never overlap or interact, so one left-to-right scan gives the
 * same result — and works on a stream, holding back a '<' that may still begin a token.
 */
final class MarkupExpander implements TextStage {
    private final String[] tokens;
    private final String[] replacements;
    private final StringBuilder held = new StringBuilder();

    MarkupExpander(int maxBlankLength) {
        tokens = new String[maxBlankLength + 1];
        replacements = new String[tokens.length];
        tokens[0] = "<n>";
        replacements[0] = "\n";
        tokens[1] = "<|tab|>";
        replacements[1] = "\t";
        for (int k = 2; k <= maxBlankLength; k++) {
            tokens[k] = blankToken(k);
            replacements[k] = " ".repeat(k);
        }
    }

    static String blankToken(int k) {
        return "<|blank_" + k + "|>";
    }

    /** The whole-text version, as a chain of replacements in the reference's order. */
    static String expandAll(String text, int maxBlankLength) {
        if (text.indexOf('<') < 0) return text;
        text = text.replace("<n>", "\n").replace("<|tab|>", "\t");
        for (int k = 2; k <= maxBlankLength; k++) text = text.replace(blankToken(k), " ".repeat(k));
        return text;
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
            char c = held.charAt(i);
            if (c != '<') {
                out.append(c);
                i++;
                continue;
            }
            int token = -1;
            boolean mayStillMatch = false;
            for (int t = 0; t < tokens.length; t++) {
                int k = matchLength(tokens[t], i);
                if (k == tokens[t].length()) {
                    token = t;
                    break;
                }
                if (k == n - i) mayStillMatch = true;
            }
            if (token >= 0) {
                out.append(replacements[token]);
                i += tokens[token].length();
            } else if (mayStillMatch && !end) {
                break;
            } else {
                out.append(c);
                i++;
            }
        }
        held.delete(0, i);
    }

    private int matchLength(String token, int at) {
        int k = 0;
        int n = held.length();
        while (k < token.length() && at + k < n && held.charAt(at + k) == token.charAt(k)) k++;
        return k;
    }
}
