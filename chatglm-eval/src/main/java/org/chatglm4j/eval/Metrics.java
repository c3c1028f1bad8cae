package org.chatglm4j.eval;

import java.util.List;
import java.util.Map;
import java.util.LinkedHashMap;

/**
 * {@code compute_metrics} of {@code ptuning/main.py}: for every (prediction, label) pair, ROUGE-1/2/L of the jieba
 * words ({@link Rouge}) and BLEU-4 of the characters ({@link Bleu}), each {@code round(score * 100, 4)}; over the set,
 * {@code float(np.mean(values))} of each metric.
 */
public final class Metrics {
    /** Metric values in percent, in the reference's order and with its names. */
    public record Scores(double rouge1, double rouge2, double rougeL, double bleu4) {
        /** {@code {"rouge-1": …, "rouge-2": …, "rouge-l": …, "bleu-4": …}}. */
        public Map<String, Double> asMap() {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("rouge-1", rouge1);
            m.put("rouge-2", rouge2);
            m.put("rouge-l", rougeL);
            m.put("bleu-4", bleu4);
            return m;
        }
    }

    private final Jieba jieba;

    public Metrics(Jieba jieba) {
        this.jieba = jieba;
    }

    /** With the shared {@link Jieba#get()} segmenter. */
    public static Metrics standard() {
        return new Metrics(Jieba.get());
    }

    /**
     * The values main.py appends for one pair (percent, rounded to 4 places).
     *
     * @throws EvalException where main.py raises: a prediction (checked first) or label that is empty or only
     *                       whitespace ("Hypothesis is empty." / "Reference is empty.")
     */
    public Scores pair(String prediction, String label) {
        String hyp = String.join(" ", jieba.cut(prediction));
        String ref = String.join(" ", jieba.cut(label));
        Rouge.Scores r = Rouge.score(hyp, ref);
        double bleu = Bleu.score(prediction, label);
        return new Scores(percent(r.rouge1()), percent(r.rouge2()), percent(r.rougeL()), percent(bleu));
    }

    static double percent(double fraction) {
        return PythonFloat.round4(fraction * 100);
    }

    /** {@code float(np.mean(...))} of each metric over the per-pair values. */
    public static Scores mean(List<Scores> pairs) {
        int n = pairs.size();
        if (n == 0) throw new EvalException("no pairs to score");
        double[] r1 = new double[n], r2 = new double[n], rl = new double[n], b = new double[n];
        for (int i = 0; i < n; i++) {
            Scores s = pairs.get(i);
            r1[i] = s.rouge1();
            r2[i] = s.rouge2();
            rl[i] = s.rougeL();
            b[i] = s.bleu4();
        }
        return new Scores(PythonFloat.numpyMean(r1), PythonFloat.numpyMean(r2), PythonFloat.numpyMean(rl),
                PythonFloat.numpyMean(b));
    }
}
