package org.chatglm4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The metric goldens of fixtures/metrics/metrics.json (copied from shared/fixtures/metrics): compute_metrics of
 * ptuning/main.py run on jieba 0.42.1, rouge_chinese 1.0.3, nltk 3.8 and numpy 1.24. Every value must be equal to
 * the last bit.
 */
class MetricsGoldenTest {
    static final JsonNode GOLDEN = load();

    static JsonNode load() {
        try (InputStream in = MetricsGoldenTest.class.getClassLoader().getResourceAsStream("fixtures/metrics/metrics.json")) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    static Stream<Arguments> jiebaCases() {
        List<Arguments> out = new ArrayList<>();
        GOLDEN.get("jieba_cases").forEach(c -> out.add(Arguments.of(c.get("text").asText(), c.get("tokens"))));
        return out.stream();
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        GOLDEN.get("cases").forEach(c -> out.add(Arguments.of(c.get("id").asText(), c)));
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("jiebaCases")
    void jiebaTokens(String text, JsonNode tokens) {
        assertThat(Jieba.get().cut(text)).containsExactlyElementsOf(strings(tokens));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void segmentation(String id, JsonNode c) {
        assertThat(Jieba.get().cut(c.get("prediction").asText())).containsExactlyElementsOf(strings(c.get("jieba_prediction")));
        assertThat(Jieba.get().cut(c.get("label").asText())).containsExactlyElementsOf(strings(c.get("jieba_label")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rougeInternals(String id, JsonNode c) {
        String hyp = String.join(" ", strings(c.get("jieba_prediction")));
        String ref = String.join(" ", strings(c.get("jieba_label")));
        assertThat(Rouge.sentences(hyp)).containsExactlyElementsOf(strings(c.get("rouge_sentences_prediction")));
        assertThat(Rouge.sentences(ref)).containsExactlyElementsOf(strings(c.get("rouge_sentences_label")));
        List<String> h = Rouge.words(Rouge.sentences(hyp));
        List<String> r = Rouge.words(Rouge.sentences(ref));
        assertThat(h).containsExactlyElementsOf(strings(c.get("rouge_words_prediction")));
        assertThat(r).containsExactlyElementsOf(strings(c.get("rouge_words_label")));
        JsonNode lcs = c.get("rouge_counts").get("rouge-l");
        assertThat(Rouge.lcs(r, h)).isEqualTo(lcs.get("overlap").asInt());
        Rouge.Scores s = Rouge.score(hyp, ref);
        JsonNode raw = c.get("raw");
        assertThat(s.rouge1()).isEqualTo(raw.get("rouge-1").asDouble());
        assertThat(s.rouge2()).isEqualTo(raw.get("rouge-2").asDouble());
        assertThat(s.rougeL()).isEqualTo(raw.get("rouge-l").asDouble());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void bleuInternals(String id, JsonNode c) {
        Bleu.Detail d = Bleu.detail(PythonStr.codePoints(c.get("prediction").asText()),
                PythonStr.codePoints(c.get("label").asText()));
        JsonNode g = c.get("bleu_detail");
        for (int n = 0; n < 4; n++) {
            assertThat(d.numerators()[n]).as("numerator %d", n + 1).isEqualTo(g.get("numerators").get(n).asLong());
            assertThat(d.denominators()[n]).as("denominator %d", n + 1).isEqualTo(g.get("denominators").get(n).asLong());
        }
        assertThat(d.hypLength()).isEqualTo(g.get("hyp_len").asInt());
        assertThat(d.refLength()).isEqualTo(g.get("ref_len").asInt());
        assertThat(d.brevityPenalty()).isEqualTo(g.get("brevity_penalty").asDouble());
        assertThat(d.score()).isEqualTo(c.get("raw").get("bleu-4").asDouble());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void perPairValues(String id, JsonNode c) {
        Metrics.Scores s = Metrics.standard().pair(c.get("prediction").asText(), c.get("label").asText());
        assertThat(s.rouge1()).isEqualTo(c.get("rouge-1").asDouble());
        assertThat(s.rouge2()).isEqualTo(c.get("rouge-2").asDouble());
        assertThat(s.rougeL()).isEqualTo(c.get("rouge-l").asDouble());
        assertThat(s.bleu4()).isEqualTo(c.get("bleu-4").asDouble());
    }

    @Test
    void corpusMeanIsNumpysPairwiseMean() {
        List<Metrics.Scores> pairs = new ArrayList<>();
        GOLDEN.get("cases").forEach(c -> pairs.add(Metrics.standard().pair(c.get("prediction").asText(),
                c.get("label").asText())));
        Metrics.Scores mean = Metrics.mean(pairs);
        JsonNode corpus = GOLDEN.get("corpus");
        assertThat(mean.asMap()).containsExactly(
                org.assertj.core.api.Assertions.entry("rouge-1", corpus.get("rouge-1").asDouble()),
                org.assertj.core.api.Assertions.entry("rouge-2", corpus.get("rouge-2").asDouble()),
                org.assertj.core.api.Assertions.entry("rouge-l", corpus.get("rouge-l").asDouble()),
                org.assertj.core.api.Assertions.entry("bleu-4", corpus.get("bleu-4").asDouble()));
        JsonNode logged = GOLDEN.get("corpus_logged");
        assertThat(PythonFloat.round4(mean.rouge1())).isEqualTo(logged.get("eval_rouge-1").asDouble());
        assertThat(PythonFloat.round4(mean.bleu4())).isEqualTo(logged.get("eval_bleu-4").asDouble());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("errorCases")
    void emptyTextsFailLikeMainPy(String id, JsonNode c) {
        assertThatThrownBy(() -> Metrics.standard().pair(c.get("prediction").asText(), c.get("label").asText()))
                .isInstanceOf(EvalException.class)
                .hasMessage(c.get("exception").get("message").asText());
        assertThat(Bleu.score(c.get("prediction").asText(), c.get("label").asText()))
                .isEqualTo(c.get("bleu-4_alone").asDouble());
        assertThat(Jieba.get().cut(c.get("prediction").asText())).containsExactlyElementsOf(strings(c.get("jieba_prediction")));
        assertThat(Jieba.get().cut(c.get("label").asText())).containsExactlyElementsOf(strings(c.get("jieba_label")));
    }

    static Stream<Arguments> errorCases() {
        List<Arguments> out = new ArrayList<>();
        GOLDEN.get("error_cases").forEach(c -> out.add(Arguments.of(c.get("id").asText(), c)));
        return out.stream();
    }
}
