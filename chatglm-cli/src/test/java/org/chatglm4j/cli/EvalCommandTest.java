package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.eval.Metrics;
import org.chatglm4j.eval.PredictionsFile;
import org.chatglm4j.eval.Predictor;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.testing.Fixtures;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code chatglm eval}: scoring a generated_predictions.txt against the metric goldens, generating predictions for
 * a validation file on the fixture models (greedy, checked against the reference's generated ids), bad input.
 */
class EvalCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path resource(String name) {
        try {
            return Path.of(EvalCommandTest.class.getClassLoader().getResource("eval/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static JsonNode expected() throws IOException {
        return JSON.readTree(resource("public_expected.json").toFile());
    }

    // ---------------------------------------------------------------- --predictions FILE

    @Test
    void scoresAPredictionsFileExactlyAsComputeMetrics() throws Exception {
        Cli.Result r = Cli.run("", "eval", "--predictions", resource("public_predictions.txt").toString(), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.outLines()).hasSize(1);
        JsonNode got = JSON.readTree(r.out());
        JsonNode corpus = expected().get("corpus");
        assertThat(fieldNames(got)).containsExactly("rouge-1", "rouge-2", "rouge-l", "bleu-4");
        for (String k : fieldNames(corpus)) assertThat(got.get(k).asDouble()).as(k).isEqualTo(corpus.get(k).asDouble());
    }

    /** Our writer gives the bytes of Python's json.dumps(..., ensure_ascii=False) (control characters included). */
    @Test
    void predictionsAreWrittenAsMainPyWritesThem(@TempDir Path dir) throws Exception {
        Path copy = dir.resolve("generated_predictions.txt");
        PredictionsFile.write(copy, PredictionsFile.read(resource("public_predictions.txt")));
        assertThat(Files.readAllBytes(copy)).isEqualTo(Files.readAllBytes(resource("public_predictions.txt")));
    }

    @Test
    void plainOutputIsTheSameObject() throws Exception {
        Cli.Result r = Cli.run("", "eval", "--predictions", resource("public_predictions.txt").toString());
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode got = JSON.readTree(r.out());
        JsonNode corpus = expected().get("corpus");
        for (String k : fieldNames(corpus)) assertThat(got.get(k).asDouble()).as(k).isEqualTo(corpus.get(k).asDouble());
    }

    @Test
    void anEmptyPredictionStopsTheEvaluationAsInMainPy(@TempDir Path dir) throws Exception {
        JsonNode e = expected().get("error_case");
        Path file = dir.resolve("generated_predictions.txt");
        String bad = "{\"labels\": " + JSON.writeValueAsString(e.get("labels").asText()) + ", \"predict\": "
                + JSON.writeValueAsString(e.get("predict").asText()) + "}\n";
        Files.writeString(file, Files.readString(resource("public_predictions.txt")) + bad);
        Cli.Result r = Cli.run("", "eval", "--predictions", file.toString(), "--json");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).startsWith("chatglm: error: " + file + ": line 68, column 1: the prediction is empty")
                .contains(e.get("message").asText());
    }

    @Test
    void invalidJsonNamesFileLineAndColumn(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("p.txt");
        Files.writeString(file, "{\"labels\": \"a\", \"predict\": \"b\"}\n{\"labels\": \"a\" \"predict\": \"b\"}\n");
        Cli.Result r = Cli.run("", "eval", "--predictions", file.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.err()).startsWith("chatglm: error: " + file + ": line 2, column 16: invalid JSON");
    }

    @Test
    void missingColumnEmptyFileAndWrongTypesAreOneLineErrors(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("missing.txt");
        Files.writeString(missing, "{\"labels\": \"a\", \"predict\": \"b\"}\n\n{\"labels\": \"a\"}\n");
        assertThat(Cli.run("", "eval", "--predictions", missing.toString()).err())
                .isEqualTo("chatglm: error: " + missing + ": line 3, column 1: no \"predict\" column\n");
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "\n  \n");
        assertThat(Cli.run("", "eval", "--predictions", empty.toString()).err())
                .isEqualTo("chatglm: error: " + empty + ": empty file (no JSON object on any line)\n");
        Path number = dir.resolve("number.txt");
        Files.writeString(number, "{\"labels\": 3, \"predict\": \"b\"}\n");
        assertThat(Cli.run("", "eval", "--predictions", number.toString()).err())
                .isEqualTo("chatglm: error: " + number + ": line 1, column 1: \"labels\" is a number, not a string\n");
        Path array = dir.resolve("array.txt");
        Files.writeString(array, "[1, 2]\n");
        assertThat(Cli.run("", "eval", "--predictions", array.toString()).err())
                .isEqualTo("chatglm: error: " + array + ": line 1, column 1: expected a JSON object, got an array\n");
        Path none = dir.resolve("none.txt");
        Cli.Result r = Cli.run("", "eval", "--predictions", none.toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("chatglm: error: " + none + ": no such file\n");
    }

    @Test
    void exactlyOneModeIsAUsageError() {
        Cli.Result neither = Cli.run("", "eval");
        assertThat(neither.status()).isEqualTo(2);
        assertThat(neither.err()).startsWith("chatglm: error: give either --predictions FILE");
        Cli.Result both = Cli.run("", "eval", "--predictions", "a", "--validation-file", "b");
        assertThat(both.status()).isEqualTo(2);
        Cli.Result model = Cli.run("", "eval", "--predictions", resource("public_predictions.txt").toString(),
                "--model", "x");
        assertThat(model.status()).isEqualTo(2);
        assertThat(model.err()).startsWith("chatglm: error: --model has no use with --predictions");
        Cli.Result noOut = Cli.run("", "eval", "--validation-file", "x.json");
        assertThat(noOut.status()).isEqualTo(2);
        assertThat(noOut.err()).startsWith("chatglm: error: --validation-file needs --output-dir DIR");
        Path file = resource("public_predictions.txt");
        Cli.Result outIsFile = Cli.run("", "eval", "--validation-file", "x.json", "--output-dir", file.toString());
        assertThat(outIsFile.status()).isEqualTo(2);
        assertThat(outIsFile.err()).startsWith("chatglm: error: --output-dir " + file + " is a file, not a folder");
        Cli.Result tooShort = Cli.run("", "eval", "--validation-file", "x.json", "--output-dir", "o",
                "--max-source-length", "1");
        assertThat(tooShort.status()).isEqualTo(2);
        assertThat(tooShort.err()).startsWith("chatglm: error: --max-source-length and --max-target-length must be");
    }

    // ---------------------------------------------------------------- --validation-file FILE

    static String[] predictArgs(String m, Path data, Path out, String... rest) {
        List<String> a = new ArrayList<>(List.of("eval"));
        a.addAll(List.of(LogitsCommandTest.modelArgs(m)));
        a.addAll(List.of("--threads", Cli.THREADS, "--validation-file", data.toString(), "--greedy",
                "--output-dir", out.toString()));
        a.addAll(List.of(rest));
        return a.toArray(String[]::new);
    }

    static List<JsonNode> lines(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) out.add(JSON.readTree(l));
        return out;
    }

    static String decodeIds(ChatGlmTokenizer tok, JsonNode ids, int count) {
        int[] a = new int[Math.min(count, ids.size())];
        for (int i = 0; i < a.length; i++) a[i] = ids.get(i).asInt();
        return Predictor.decodeSkippingSpecials(tok, a);
    }

    /** The greedy predictions are the reference's generated ids, cut to the room main.py's padded batch leaves. */
    @Test
    void greedyPredictionsAreTheReferenceGenerations(@TempDir Path out) throws Exception {
        Cli.Result r = Cli.run("", predictArgs("ptuning_a", resource("chat_rows.json"), out, "--prompt-column", "content",
                "--response-column", "summary", "--max-source-length", "16", "--max-target-length", "8", "--json"));
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.err()).contains("1 row(s) with an empty prompt or response skipped").contains("predict [");
        ChatGlmTokenizer tok = ChatGlmTokenizer.load(Fixtures.path("model_a/checkpoint"));
        JsonNode prompts = Fixtures.json("ptuning_a/ptuning.json").get("prompts");
        JsonNode hello = generation(prompts, "chat_hello_en");
        JsonNode sleep = generation(prompts, "chat_sleep");
        // the longest input of the batch is the 15 ids of chat_sleep: room = 16 + 8 + 1 - 15 = 10 new tokens
        assertThat(sleep.get("input_ids")).hasSize(15);
        List<JsonNode> got = lines(out.resolve("generated_predictions.txt"));
        assertThat(got).hasSize(2);
        assertThat(got.get(0).get("predict").asText()).isEqualTo(decodeIds(tok, hello.get("generated_ids"), 10).strip());
        assertThat(got.get(1).get("predict").asText()).isEqualTo(decodeIds(tok, sleep.get("generated_ids"), 10).strip());
        // labels: the summary's ids cut to max_target_length - 2, decoded
        int[] label = Arrays.copyOf(tok.encodeHfNoSpecial("以下是一些帮助你睡眠的方法。"), 6);
        assertThat(got.get(1).get("labels").asText()).isEqualTo(tok.decodeForChat(label).strip());
        assertThat(fieldNames(got.get(0))).containsExactly("labels", "predict");
        // the printed metrics are compute_metrics of the (unstripped) decoded texts
        Metrics.Scores expected = Metrics.mean(List.of(
                Metrics.standard().pair(decodeIds(tok, hello.get("generated_ids"), 10),
                        tok.decodeForChat(Arrays.copyOf(tok.encodeHfNoSpecial("Hi! How can I help you today?"), 6))),
                Metrics.standard().pair(decodeIds(tok, sleep.get("generated_ids"), 10), tok.decodeForChat(label))));
        JsonNode printed = JSON.readTree(r.out());
        expected.asMap().forEach((k, v) -> assertThat(printed.get(k).asDouble()).as(k).isEqualTo(v));
        JsonNode results = JSON.readTree(out.resolve("predict_results.json").toFile());
        expected.asMap().forEach((k, v) -> assertThat(results.get("predict_" + k).asDouble()).as(k).isEqualTo(v));
        assertThat(results.get("predict_samples").asInt()).isEqualTo(2);
        assertThat(Files.readString(out.resolve("predict_results.json"))).startsWith("{\n    \"predict_bleu-4\": ");
    }

    static JsonNode generation(JsonNode prompts, String name) {
        for (JsonNode p : prompts) if (p.get("name").asText().equals(name)) return p.get("generation");
        throw new IllegalStateException("no prompt " + name);
    }

    /** The history column: an empty history leaves the query alone (unlike training's template). */
    @Test
    void historyColumnOnPtuningB(@TempDir Path out) throws Exception {
        Path data = Fixtures.path("ptuning_b/data/train.json");
        Cli.Result r = Cli.run("", predictArgs("ptuning_b", data, out, "--prompt-column", "prompt",
                "--response-column", "response", "--history-column", "history", "--max-source-length", "24",
                "--max-target-length", "16", "--json"));
        assertThat(r.status()).as(r.err()).isZero();
        ChatGlmTokenizer tok = ChatGlmTokenizer.load(Fixtures.path("model_b/checkpoint"));
        JsonNode hello = generation(Fixtures.json("ptuning_b/ptuning.json").get("prompts"), "chat_hello");
        // rows with a history are longer than 22 text ids: cut to 24 with [gMASK] <sop>, so room = 24 + 16 + 1 - 24
        int room = 17;
        List<JsonNode> got = lines(out.resolve("generated_predictions.txt"));
        assertThat(got).hasSize(Files.readAllLines(data).size());
        assertThat(got.get(0).get("predict").asText()).isEqualTo(decodeIds(tok, hello.get("generated_ids"), room).strip());
    }

    /** The whole fixture data set of ptuning_a with the prefix: files written, scores consistent with the file. */
    @Test
    void ptuningAFixtureDataEndToEnd(@TempDir Path out) throws Exception {
        Path data = Fixtures.path("ptuning_a/data/train.json");
        Cli.Result r = Cli.run("", predictArgs("ptuning_a", data, out, "--prompt-column", "content",
                "--response-column", "summary", "--max-source-length", "24", "--max-target-length", "16", "--json"));
        assertThat(r.status()).as(r.err()).isZero();
        // main.py skips the row with an empty summary
        List<JsonNode> rows = lines(data).stream().filter(j -> !j.get("summary").asText().isEmpty()).toList();
        assertThat(rows).hasSize(7);
        assertThat(r.err()).contains("1 row(s) with an empty prompt or response skipped");
        List<JsonNode> got = lines(out.resolve("generated_predictions.txt"));
        assertThat(got).hasSize(rows.size());
        try (ChatGLM glm = ChatGLM.load(Fixtures.path("model_a/checkpoint"), LoadOptions.defaults().withThreads(2)
                .withPtuning(Fixtures.path("ptuning_a/ptuning_checkpoint")))) {
            ChatGlmTokenizer tok = glm.tokenizer();
            List<int[]> inputs = new ArrayList<>();
            int longest = 0;
            for (JsonNode row : rows) {
                int[] text = tok.encodeHfNoSpecial(row.get("content").asText());
                int[] in = tok.buildInputs(Arrays.copyOf(text, Math.min(text.length, 22)));
                inputs.add(in);
                longest = Math.max(longest, in.length);
            }
            List<Metrics.Scores> pairs = new ArrayList<>();
            for (int i = 0; i < rows.size(); i++) {
                int room = 24 + 16 + 1 - longest;
                int[] ids = glm.generate(inputs.get(i), GenerationConfig.greedy(inputs.get(i).length + room)
                        .withMaxNewTokens(room), null, null).generatedIds();
                String predict = Predictor.decodeSkippingSpecials(tok, ids);
                int[] text = tok.encodeHfNoSpecial(rows.get(i).get("summary").asText());
                String label = tok.decodeForChat(Arrays.copyOf(text, Math.min(text.length, 14)));
                assertThat(got.get(i).get("predict").asText()).as("row %d", i).isEqualTo(predict.strip());
                assertThat(got.get(i).get("labels").asText()).as("row %d", i).isEqualTo(label.strip());
                pairs.add(Metrics.standard().pair(predict, label));
            }
            JsonNode printed = JSON.readTree(r.out());
            Metrics.mean(pairs).asMap().forEach((k, v) -> assertThat(printed.get(k).asDouble()).as(k).isEqualTo(v));
        }
        // and the written file scores as main.py would score it
        Cli.Result again = Cli.run("", "eval", "--predictions", out.resolve("generated_predictions.txt").toString(), "--json");
        assertThat(again.status()).as(again.err()).isZero();
        List<Metrics.Scores> stripped = new ArrayList<>();
        for (JsonNode g : got) stripped.add(Metrics.standard().pair(g.get("predict").asText(), g.get("labels").asText()));
        JsonNode rescored = JSON.readTree(again.out());
        Metrics.mean(stripped).asMap().forEach((k, v) -> assertThat(rescored.get(k).asDouble()).as(k).isEqualTo(v));
    }

    /** Without --greedy it samples as main.py does; a seed makes the run reproducible. */
    @Test
    void samplingWithASeedIsReproducible(@TempDir Path dir) throws Exception {
        List<String> outputs = new ArrayList<>();
        for (String run : List.of("a", "b")) {
            List<String> a = new ArrayList<>(List.of("eval"));
            a.addAll(List.of(LogitsCommandTest.modelArgs("ptuning_a")));
            a.addAll(List.of("--threads", Cli.THREADS, "--validation-file", resource("chat_rows.json").toString(),
                    "--max-source-length", "16", "--max-target-length", "8", "--seed", "7", "--json",
                    "--output-dir", dir.resolve(run).toString()));
            Cli.Result r = Cli.run("", a.toArray(String[]::new));
            assertThat(r.status()).as(r.err()).isZero();
            outputs.add(Files.readString(dir.resolve(run).resolve("generated_predictions.txt")) + r.out());
        }
        assertThat(outputs.get(1)).isEqualTo(outputs.get(0));
    }

    @Test
    void badValidationDataNamesFileLineAndColumn(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("dev.json");
        Files.writeString(data, "{\"content\": \"a\", \"summary\": \"b\"}\n{\"content\": \"a\"}\n");
        Cli.Result r = Cli.run("", predictArgs("ptuning_a", data, dir.resolve("out")));
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("chatglm: error: " + data + ": line 2, column 1: no \"summary\" column\n");
        assertThat(dir.resolve("out")).doesNotExist();
        Files.writeString(data, "{\"content\": \"a\", \"summary\": \"b\"}\n{\"content\": \"a\", \"summary\": }\n");
        r = Cli.run("", predictArgs("ptuning_a", data, dir.resolve("out")));
        assertThat(r.err()).startsWith("chatglm: error: " + data + ": line 2, column 29: invalid JSON");
        Files.writeString(data, "");
        r = Cli.run("", predictArgs("ptuning_a", data, dir.resolve("out")));
        assertThat(r.err()).isEqualTo("chatglm: error: " + data + ": empty file (no JSON object on any line)\n");
        Files.writeString(data, "{\"content\": \"a\", \"summary\": \"b\", \"h\": [[\"q\"]]}\n");
        r = Cli.run("", predictArgs("ptuning_a", data, dir.resolve("out"), "--history-column", "h"));
        assertThat(r.err()).isEqualTo("chatglm: error: " + data
                + ": line 1, column 1: \"h\"[0] is not a [query, response] pair of strings\n");
        assertThat(dir.resolve("out")).doesNotExist();
    }

    static List<String> fieldNames(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }
}
