package org.chatglm4j.eval;

import com.huaban.analysis.jieba.JiebaSegmenter;
import com.huaban.analysis.jieba.SegToken;
import com.huaban.analysis.jieba.WordDictionary;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What we take from com.huaban:jieba-analysis and why we do not use its segmenter: its dictionary plus the one line
 * it lacks is byte for byte Python jieba 0.42.1's dict.txt; its own process() gives other tokens than Python.
 */
class JiebaDataTest {
    @Test
    void libraryDictionaryPlusTheMissingLineIsPythonsDictTxt() throws Exception {
        String text;
        try (InputStream in = WordDictionary.class.getResourceAsStream("/dict.txt")) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        String before = "吉林工业大学 3 nt\n";
        assertThat(text).contains(before).doesNotContain("\n吉林 89 ns\n");
        String python = text.replace(before, before + JiebaDictionary.MISSING_WORD + " " + JiebaDictionary.MISSING_COUNT + " ns\n");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(python.getBytes(StandardCharsets.UTF_8)));
        // _meta.versions.jieba_dict_sha256 of fixtures/metrics/metrics.json
        assertThat(sha).isEqualTo(MetricsGoldenTest.GOLDEN.get("_meta").get("versions").get("jieba_dict_sha256").asText());
    }

    @Test
    void dictionaryTotalsAreJiebas() {
        JiebaDictionary d = JiebaDictionary.load();
        assertThat(d.total()).isEqualTo(60_101_967L);
        assertThat(d.count("吉林")).isEqualTo(89);
        assertThat(d.count("B超")).isEqualTo(3);
        assertThat(d.count("b超")).isEqualTo(-1);
        assertThat(d.count("吉林工业")).isZero();
    }

    /** The library's own segmenter lower-cases, folds full-width forms and cuts "\r\n": not what main.py sees. */
    @Test
    void theLibrarysSegmenterDiffersFromPython() {
        String text = "ChatGLM-6B\r\nＡＢ";
        List<String> library = new ArrayList<>();
        for (SegToken t : new JiebaSegmenter().process(text, JiebaSegmenter.SegMode.SEARCH)) library.add(t.word);
        assertThat(library).contains("chatglm").doesNotContain("\r\n");
        assertThat(Jieba.get().cut(text)).containsExactly("ChatGLM", "-", "6B", "\r\n", "Ａ", "Ｂ");
    }
}
