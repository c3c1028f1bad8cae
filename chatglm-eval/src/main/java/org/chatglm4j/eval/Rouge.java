package org.chatglm4j.eval;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * ROUGE-1, ROUGE-2 and ROUGE-L F-scores as {@code rouge_chinese} 1.0.3 computes them for
 * {@code Rouge().get_scores(hyp, ref)} on space-joined jieba tokens: the text is cut into "sentences"
 * ({@code cut_sent}), each whitespace-normalised, and their words flattened into one list per side. ROUGE-N counts
 * distinct n-grams (Python sets), ROUGE-L is the longest common subsequence of the word lists, and every F is
 * {@code 2 * ((P * R) / (P + R + 1e-8))}, so identical texts score 0.999999995.
 */
public final class Rouge {
    /** The three F-scores of one pair (fractions, not percentages). */
    public record Scores(double rouge1, double rouge2, double rougeL) {
    }

    // cut_sent: four substitutions, each inserting a newline (Python re.sub, non-overlapping, left to right)
    private static final Pattern END = Pattern.compile("([。！？?])([^”’])");
    private static final Pattern DOTS = Pattern.compile("(\\.{6})([^”’])");
    private static final Pattern ELLIPSIS = Pattern.compile("(…{2})([^”’])");
    private static final Pattern END_QUOTE = Pattern.compile("([。！？?][”’])([^，。！？?])");

    private Rouge() {
    }

    /**
     * Scores a hypothesis against a reference, both already segmented and joined with single spaces.
     *
     * @throws EvalException "Hypothesis is empty." / "Reference is empty." where rouge_chinese raises (a text
     *                       with nothing but whitespace), checked in that order
     */
    public static Scores score(String hypothesis, String reference) {
        List<String> hyp = words(sentences(hypothesis));
        List<String> ref = words(sentences(reference));
        if (hyp == null) throw new EvalException("Hypothesis is empty.");
        if (ref == null) throw new EvalException("Reference is empty.");
        return new Scores(rougeN(hyp, ref, 1), rougeN(hyp, ref, 2), rougeL(hyp, ref));
    }

    /** {@code Rouge.cut_sent}, then the non-empty pieces, each {@code " ".join(piece.split())}. */
    static List<String> sentences(String text) {
        String para = END.matcher(text).replaceAll("$1\n$2");
        para = DOTS.matcher(para).replaceAll("$1\n$2");
        para = ELLIPSIS.matcher(para).replaceAll("$1\n$2");
        para = END_QUOTE.matcher(para).replaceAll("$1\n$2");
        para = PythonStr.rstrip(para);
        List<String> out = new ArrayList<>();
        for (String piece : para.split("\n", -1)) {
            if (!piece.isEmpty()) out.add(String.join(" ", PythonStr.split(piece)));
        }
        return out;
    }

    /** {@code _split_into_words}: every sentence split on " " (an empty sentence gives one empty word); null if none. */
    static List<String> words(List<String> sentences) {
        if (sentences.isEmpty()) return null;
        List<String> out = new ArrayList<>();
        for (String s : sentences) {
            for (String w : s.split(" ", -1)) out.add(w);
        }
        return out;
    }

    static double rougeN(List<String> hyp, List<String> ref, int n) {
        Set<List<String>> h = ngrams(hyp, n);
        Set<List<String>> r = ngrams(ref, n);
        int overlap = 0;
        for (List<String> g : h) if (r.contains(g)) overlap++;
        double precision = h.isEmpty() ? 0.0 : (double) overlap / h.size();
        double recall = r.isEmpty() ? 0.0 : (double) overlap / r.size();
        return f(precision, recall);
    }

    private static Set<List<String>> ngrams(List<String> words, int n) {
        Set<List<String>> out = new HashSet<>();
        for (int i = 0; i + n <= words.size(); i++) out.add(List.copyOf(words.subList(i, i + n)));
        return out;
    }

    /** {@code rouge_l_summary_level}: LCS of the whole word lists over their lengths. */
    static double rougeL(List<String> hyp, List<String> ref) {
        int lcs = lcs(ref, hyp);
        double r = (double) lcs / ref.size();
        double p = (double) lcs / hyp.size();
        return f(p, r);
    }

    static int lcs(List<String> x, List<String> y) {
        int[] prev = new int[y.size() + 1];
        int[] cur = new int[y.size() + 1];
        for (int i = 1; i <= x.size(); i++) {
            for (int j = 1; j <= y.size(); j++) {
                cur[j] = x.get(i - 1).equals(y.get(j - 1)) ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[y.size()];
    }

    private static double f(double precision, double recall) {
        return 2.0 * ((precision * recall) / (precision + recall + 1e-8));
    }
}
