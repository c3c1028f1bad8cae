package org.chatglm4j.eval;

import java.util.HashMap;
import java.util.Map;

/**
 * BLEU-4 of one hypothesis against one reference as nltk 3.8 computes
 * {@code sentence_bleu([reference], hypothesis, smoothing_function=SmoothingFunction().method3)} with the default
 * weights (0.25 each). {@code ptuning/main.py} passes {@code list(text)}: the units are code points.
 */
public final class Bleu {
    private static final int MAX_ORDER = 4;

    /** What one score is made of: clipped matches and hypothesis n-gram counts (n = 1..4), lengths, penalty. */
    public record Detail(long[] numerators, long[] denominators, int hypLength, int refLength, double brevityPenalty,
                         double score) {
    }

    private Bleu() {
    }

    public static double score(String hypothesis, String reference) {
        return detail(PythonStr.codePoints(hypothesis), PythonStr.codePoints(reference)).score();
    }

    static Detail detail(int[] hyp, int[] ref) {
        long[] num = new long[MAX_ORDER];
        long[] den = new long[MAX_ORDER];
        for (int n = 1; n <= MAX_ORDER; n++) {
            // modified_precision: hypothesis n-grams clipped by their count in the reference; denominator max(1, total)
            Map<Gram, Integer> refCounts = counts(ref, n);
            Map<Gram, Integer> hypCounts = counts(hyp, n);
            long clipped = 0;
            long total = 0;
            for (Map.Entry<Gram, Integer> e : hypCounts.entrySet()) {
                total += e.getValue();
                clipped += Math.min(e.getValue(), refCounts.getOrDefault(e.getKey(), 0));
            }
            num[n - 1] = clipped;
            den[n - 1] = Math.max(1, total);
        }
        double bp = brevityPenalty(ref.length, hyp.length);
        // corpus_bleu returns (integer) 0 without smoothing when no unigram matches
        if (num[0] == 0) return new Detail(num, den, hyp.length, ref.length, bp, 0.0);
        double[] terms = new double[MAX_ORDER];
        int k = 1;
        for (int i = 0; i < MAX_ORDER; i++) {
            double p;
            if (num[i] == 0) {
                // method3 (NIST geometric sequence smoothing): 1 / (2^k * denominator) for the k-th empty order
                p = 1.0 / (double) ((1L << k) * den[i]);
                k++;
            } else {
                // float(Fraction(num, den)): one correctly rounded division
                p = (double) num[i] / (double) den[i];
            }
            terms[i] = 0.25 * Math.log(p);
        }
        double score = bp * Math.exp(PythonFloat.fsum(terms));
        return new Detail(num, den, hyp.length, ref.length, bp, score);
    }

    /** nltk's brevity_penalty with the closest (only) reference length. */
    static double brevityPenalty(int refLength, int hypLength) {
        if (hypLength > refLength) return 1.0;
        if (hypLength == 0) return 0.0;
        return Math.exp(1 - (double) refLength / hypLength);
    }

    private static Map<Gram, Integer> counts(int[] units, int n) {
        Map<Gram, Integer> out = new HashMap<>();
        for (int i = 0; i + n <= units.length; i++) out.merge(new Gram(units, i, n), 1, Integer::sum);
        return out;
    }

    /** An n-gram as a view of the unit array, with value equality. */
    private record Gram(int[] units, int start, int n) {
        @Override
        public boolean equals(Object o) {
            if (!(o instanceof Gram g) || g.n != n) return false;
            return java.util.Arrays.equals(units, start, start + n, g.units, g.start, g.start + n);
        }

        @Override
        public int hashCode() {
            int h = n;
            for (int i = start; i < start + n; i++) h = 31 * h + units[i];
            return h;
        }
    }
}
