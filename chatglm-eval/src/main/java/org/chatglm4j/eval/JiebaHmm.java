package org.chatglm4j.eval;

import com.huaban.analysis.jieba.WordDictionary;
import org.chatglm4j.ChatGlmException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Python jieba 0.42.1's {@code finalseg}: the B/M/E/S hidden Markov model that splits runs of characters the
 * dictionary does not know. The emission table is the {@code prob_emit.txt} of {@code com.huaban:jieba-analysis}
 * (the same entries as Python's {@code prob_emit.py}, printed with 12 significant digits); start and transition
 * probabilities are Python's. The Viterbi pass is Python's, not the library's: scores are summed in Python's order
 * {@code (V + trans) + emit}, and ties go to the larger state letter as Python's {@code max} over
 * {@code (score, state)} tuples decides ({@code S > M > E > B}); the library keeps the last candidate instead, and
 * ties are frequent here because unknown characters score {@code -3.14e100}, which absorbs everything added to it.
 */
final class JiebaHmm {
    private static final double MIN_FLOAT = -3.14e100;
    private static final int B = 0, M = 1, E = 2, S = 3;
    private static final char[] NAME = {'B', 'M', 'E', 'S'};
    /** PrevStatus: the states that may precede each state. */
    private static final int[][] PREV = {{E, S}, {M, B}, {B, M}, {S, E}};
    private static final double[] START = {-0.26268660809250016, -3.14e+100, -3.14e+100, -1.4652633398537678};
    private static final double[][] TRANS = new double[4][4];

    static {
        for (double[] row : TRANS) Arrays.fill(row, MIN_FLOAT);
        TRANS[B][E] = -0.510825623765990;
        TRANS[B][M] = -0.916290731874155;
        TRANS[E][B] = -0.5897149736854513;
        TRANS[E][S] = -0.8085250474669937;
        TRANS[M][E] = -0.33344856811948514;
        TRANS[M][M] = -1.2603623820268226;
        TRANS[S][B] = -0.7211965654669841;
        TRANS[S][S] = -0.6658631448798212;
    }

    /** {@code re_han} of finalseg: the characters the HMM labels. */
    private static final Pattern HAN = Pattern.compile("[\\u4E00-\\u9FD5]+");
    /** {@code re_skip} of finalseg; only ASCII digits reach it, so {@code \d} is {@code [0-9]}. */
    private static final Pattern SKIP = Pattern.compile("[a-zA-Z0-9]+(?:\\.[0-9]+)?%?");

    /** emit[state][char]: log emission probability, NaN where Python's table has no entry. */
    private final double[][] emit;

    private JiebaHmm(double[][] emit) {
        this.emit = emit;
    }

    static JiebaHmm load() {
        double[][] emit = new double[4][Character.MAX_VALUE + 1];
        for (double[] row : emit) Arrays.fill(row, Double.NaN);
        try (InputStream in = WordDictionary.class.getResourceAsStream("/prob_emit.txt")) {
            if (in == null) {
                throw new ChatGlmException("prob_emit.txt is missing from the jieba-analysis jar on the class path");
            }
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            int state = -1;
            for (String line; (line = r.readLine()) != null; ) {
                if (line.isEmpty()) continue;
                int tab = line.indexOf('\t');
                if (tab < 0) {
                    state = "BMES".indexOf(line.strip());
                    if (state < 0 || line.strip().length() != 1) throw new ChatGlmException("prob_emit.txt: bad state " + line);
                } else {
                    if (state < 0 || tab != 1) throw new ChatGlmException("prob_emit.txt: bad line " + line);
                    emit[state][line.charAt(0)] = Double.parseDouble(line.substring(tab + 1).strip());
                }
            }
        } catch (IOException | NumberFormatException e) {
            throw new ChatGlmException("cannot read jieba's prob_emit.txt: " + e.getMessage(), e);
        }
        return new JiebaHmm(emit);
    }

    /** {@code finalseg.cut(text)}: han runs labelled by the HMM, the rest split into letter/number runs. */
    void cut(String text, List<String> out) {
        Matcher han = HAN.matcher(text);
        int at = 0;
        while (han.find()) {
            if (han.start() > at) cutOther(text.substring(at, han.start()), out);
            viterbiCut(han.group(), out);
            at = han.end();
        }
        if (at < text.length()) cutOther(text.substring(at), out);
    }

    /** {@code re_skip.split(blk)} with the empty pieces dropped. */
    private static void cutOther(String block, List<String> out) {
        Matcher m = SKIP.matcher(block);
        int at = 0;
        while (m.find()) {
            if (m.start() > at) out.add(block.substring(at, m.start()));
            out.add(m.group());
            at = m.end();
        }
        if (at < block.length()) out.add(block.substring(at));
    }

    private double emit(int state, char c) {
        double p = emit[state][c];
        return Double.isNaN(p) ? MIN_FLOAT : p;
    }

    /** {@code finalseg.__cut}: Viterbi labels, then words from B…E spans and S characters. */
    private void viterbiCut(String s, List<String> out) {
        int n = s.length();
        double[] v = new double[4];
        double[] next = new double[4];
        int[][] back = new int[n][4];
        for (int y = 0; y < 4; y++) v[y] = START[y] + emit(y, s.charAt(0));
        for (int t = 1; t < n; t++) {
            char c = s.charAt(t);
            for (int y = 0; y < 4; y++) {
                double em = emit(y, c);
                int best = -1;
                double bestScore = 0;
                for (int y0 : PREV[y]) {
                    double score = v[y0] + TRANS[y0][y] + em;
                    if (best < 0 || score > bestScore || (score == bestScore && NAME[y0] > NAME[best])) {
                        best = y0;
                        bestScore = score;
                    }
                }
                next[y] = bestScore;
                back[t][y] = best;
            }
            double[] swap = v;
            v = next;
            next = swap;
        }
        // max((V[-1][y], y) for y in 'ES'): a tie goes to 'S'
        int state = v[S] >= v[E] ? S : E;
        int[] labels = new int[n];
        for (int t = n - 1; t >= 0; t--) {
            labels[t] = state;
            state = back[t][state];
        }
        int begin = 0;
        int nextStart = 0;
        for (int i = 0; i < n; i++) {
            if (labels[i] == B) {
                begin = i;
            } else if (labels[i] == E) {
                out.add(s.substring(begin, i + 1));
                nextStart = i + 1;
            } else if (labels[i] == S) {
                out.add(s.substring(i, i + 1));
                nextStart = i + 1;
            }
        }
        if (nextStart < n) out.add(s.substring(nextStart));
    }
}
