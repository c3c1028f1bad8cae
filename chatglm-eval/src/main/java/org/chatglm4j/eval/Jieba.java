package org.chatglm4j.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code list(jieba.cut(text))} of Python jieba 0.42.1: accurate mode, HMM on, the default dictionary, whitespace
 * kept as tokens. This is what {@code ptuning/main.py} segments predictions and labels with before ROUGE.
 *
 * <p>The data (dictionary, HMM emissions) come from {@code com.huaban:jieba-analysis} 1.0.2; its segmenter does not
 * give Python's tokens, so the algorithm follows Python's {@code Tokenizer.cut} instead (see
 * docs/evaluation.md for the full list): the library's {@code process()} lower-cases and folds full-width
 * characters (Python keeps the text as it is); it accepts U+4E00–U+9FA5 and no {@code %} in a run (Python
 * U+4E00–U+9FD5 and {@code %}); it cuts {@code "\r\n"} into two tokens and surrogate pairs into halves; it scores
 * unknown characters with the smallest dictionary probability (Python with a count of 1); it keeps the first of
 * equally good routes (Python the one with the longer first word); it keeps a run of single characters whole when
 * the run is itself a word (Python yields its characters one by one); its HMM breaks ties the other way.
 *
 * <p>Immutable and thread-safe. The dictionary holds about 50 MB of heap and takes seconds to load (3 to 6 s measured
 * on a busy 2-core machine); {@link #get()} shares one instance.
 */
public final class Jieba {
    private final JiebaDictionary dict;
    private final double logTotal;
    private final JiebaHmm hmm;

    private Jieba(JiebaDictionary dict, JiebaHmm hmm) {
        this.dict = dict;
        this.logTotal = Math.log((double) dict.total());
        this.hmm = hmm;
    }

    private static final class Holder {
        static final Jieba INSTANCE = new Jieba(JiebaDictionary.load(), JiebaHmm.load());
    }

    /** The shared segmenter, loaded on first use. */
    public static Jieba get() {
        return Holder.INSTANCE;
    }

    /** {@code re_han_default}: the characters of a run that goes through the dictionary. */
    static boolean isRunChar(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FD5) || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')
                || (cp >= '0' && cp <= '9') || cp == '+' || cp == '#' || cp == '&' || cp == '.' || cp == '_'
                || cp == '%' || cp == '-';
    }

    /** The tokens of {@code text}; they concatenate back to {@code text}. */
    public List<String> cut(String text) {
        List<String> out = new ArrayList<>();
        int n = text.length();
        int i = 0;
        while (i < n) {
            int cp = text.codePointAt(i);
            if (isRunChar(cp)) {
                int start = i;
                while (i < n && isRunChar(text.codePointAt(i))) i += Character.charCount(text.codePointAt(i));
                cutRun(text.substring(start, i), out);
            } else if (cp == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') {
                // re_skip_default = (\r\n|\s): "\r\n" is one token, every other whitespace character is its own
                out.add("\r\n");
                i += 2;
            } else {
                // whitespace or not, anything else is one token per character (code point)
                int len = Character.charCount(cp);
                out.add(text.substring(i, i + len));
                i += len;
            }
        }
        return out;
    }

    /** {@code Tokenizer.__cut_DAG} over a run of {@link #isRunChar} characters (all in the BMP). */
    private void cutRun(String s, List<String> out) {
        int n = s.length();
        // route: the best segmentation of s[idx:], scored as Python's calc()
        double[] score = new double[n + 1];
        int[] end = new int[n + 1];
        for (int idx = n - 1; idx >= 0; idx--) {
            boolean any = false;
            double bestScore = 0;
            int bestEnd = idx;
            // get_DAG: every x with s[idx:x+1] a word (count > 0), walking while s[idx:x+1] is a word or a prefix
            for (int x = idx; x < n; x++) {
                int c = dict.count(s.substring(idx, x + 1));
                if (c < 0) break;
                if (c > 0) {
                    double sc = consider(c, score[x + 1]);
                    if (!any || sc > bestScore || (sc == bestScore && x > bestEnd)) {
                        bestScore = sc;
                        bestEnd = x;
                        any = true;
                    }
                }
            }
            if (!any) {
                // no word starts here: the single character, scored with a count of 1 (FREQ.get(...) or 1)
                bestScore = consider(1, score[idx + 1]);
                bestEnd = idx;
            }
            score[idx] = bestScore;
            end[idx] = bestEnd;
        }
        StringBuilder buf = new StringBuilder();
        int x = 0;
        while (x < n) {
            int y = end[x] + 1;
            if (y - x == 1) {
                buf.append(s.charAt(x));
            } else {
                flush(buf, out);
                out.add(s.substring(x, y));
            }
            x = y;
        }
        flush(buf, out);
    }

    /** Python: {@code log(count) - logtotal + route[x + 1][0]}, in that order. */
    private double consider(int count, double rest) {
        return Math.log(count) - logTotal + rest;
    }

    /** A run of single characters: one token if one character, else the HMM unless the run is a known word. */
    private void flush(StringBuilder buf, List<String> out) {
        if (buf.isEmpty()) return;
        String b = buf.toString();
        buf.setLength(0);
        if (b.length() == 1) {
            out.add(b);
        } else if (dict.count(b) <= 0) {
            hmm.cut(b, out);
        } else {
            for (int i = 0; i < b.length(); i++) out.add(b.substring(i, i + 1));
        }
    }
}
