package org.chatglm4j.tokenizer;

/**
 * transformers 4.27 {@code clean_up_tokenization} (applied by {@code decode} by default): removes the space before
 * {@code . ? ! ,}, collapses {@code " ' "} to {@code "'"}, and joins English contractions, as ten successive
 * replacements in this order.
 */
final class CleanUpTokenization {
    private static final String[][] RULES = {
            {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
            {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
    };

    private CleanUpTokenization() {
    }

    static String apply(String text) {
        for (String[] rule : RULES) text = text.replace(rule[0], rule[1]);
        return text;
    }

    /** The same replacements as a chain of streaming stages. */
    static TextStage[] stages() {
        TextStage[] stages = new TextStage[RULES.length];
        for (int i = 0; i < RULES.length; i++) stages[i] = new StreamingReplacer(RULES[i][0], RULES[i][1]);
        return stages;
    }
}
