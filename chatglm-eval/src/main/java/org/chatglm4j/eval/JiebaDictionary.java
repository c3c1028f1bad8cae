package org.chatglm4j.eval;

import com.huaban.analysis.jieba.WordDictionary;
import org.chatglm4j.ChatGlmException;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

/**
 * Python jieba 0.42.1's prefix dictionary ({@code Tokenizer.gen_pfdict}), built from the {@code dict.txt} that
 * {@code com.huaban:jieba-analysis} ships. That file is Python jieba's default dictionary less one line,
 * {@code 吉林 89 ns}, which is added back here (the word occurs nowhere else, so where it goes does not matter).
 * Unlike the library's own {@code WordDictionary}, words keep their case (Python matches "B超" but not "b超") and
 * the raw counts are kept: Python scores a word as {@code log(count) - log(total)}, not {@code log(count / total)}.
 *
 * @param freq  word → count; every proper prefix of a word that is not itself a word → 0 (Python's {@code FREQ})
 * @param total the sum of all counts, duplicates included (Python's {@code total}: 60 101 967)
 */
record JiebaDictionary(Map<String, Integer> freq, long total) {
    /** The one entry of Python's dict.txt (line 76 275) that the library's copy lacks. */
    static final String MISSING_WORD = "吉林";
    static final int MISSING_COUNT = 89;

    private static final Integer ZERO = 0;

    /** Loads the dictionary from the jieba-analysis jar (seconds; callers keep the result). */
    static JiebaDictionary load() {
        Map<String, Integer> freq = new HashMap<>(1 << 20);
        long total = 0;
        try (InputStream in = WordDictionary.class.getResourceAsStream("/dict.txt")) {
            if (in == null) throw new ChatGlmException("dict.txt is missing from the jieba-analysis jar on the class path");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            int lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                // Python: word, freq = line.strip().split(' ')[:2]; an unparsable line is an error there too
                String[] parts = line.strip().split(" ", 3);
                if (parts.length < 2) throw new ChatGlmException("jieba dict.txt line " + lineNo + ": invalid entry");
                total += add(freq, parts[0], Integer.parseInt(parts[1]));
            }
        } catch (IOException | NumberFormatException e) {
            throw new ChatGlmException("cannot read jieba's dict.txt: " + e.getMessage(), e);
        }
        total += add(freq, MISSING_WORD, MISSING_COUNT);
        return new JiebaDictionary(Collections.unmodifiableMap(freq), total);
    }

    private static int add(Map<String, Integer> freq, String word, int count) {
        freq.put(word, count);
        for (int end = 1; end < word.length(); end++) freq.putIfAbsent(word.substring(0, end), ZERO);
        return count;
    }

    /** The count of {@code word}: 0 for a prefix only, -1 when neither word nor prefix. */
    int count(String word) {
        Integer c = freq.get(word);
        return c == null ? -1 : c;
    }
}
