package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The fine-tuning workflow of docs/finetuning.md on the fixture data: train (in its own JVM), kill it after a
 * checkpoint, resume to the end, evaluate the last checkpoint (predictions and metrics files), chat with it.
 */
class FineTuneEndToEndTest {
    @TempDir
    Path tmp;

    @Test
    void trainKillResumeEvaluateChat() throws Exception {
        Path out = tmp.resolve("out");
        int steps = 10;
        Process p = TrainCommandTest.spawn(TrainCommandTest.contract(out, steps, 2), tmp.resolve("train.log"));
        TrainCommandTest.waitFor(out.resolve("checkpoint-2"), p);
        p.destroyForcibly();
        assertThat(p.waitFor(1, TimeUnit.MINUTES)).isTrue();
        assertThat(Files.exists(out.resolve("checkpoint-" + steps))).as("killed before the end").isFalse();

        List<String> resume = TrainCommandTest.contract(out, steps, 2);
        resume.add("--resume");
        Cli.Result r = Cli.run("", resume.toArray(String[]::new));
        assertThat(r.status()).as(r.err()).isZero();
        Path ck = out.resolve("checkpoint-" + steps);
        JsonNode history = new ObjectMapper().readTree(out.resolve("trainer_state.json").toFile()).get("log_history");
        List<Integer> logged = new ArrayList<>();
        history.forEach(e -> {
            if (e.has("loss")) logged.add(e.get("step").asInt());
        });
        assertThat(logged).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);

        Path eval = tmp.resolve("eval");
        r = Cli.run("", "eval", "--model", Cli.fixture("model_a/checkpoint"), "--ptuning", ck.toString(),
                "--validation-file", Cli.fixture("ptuning_a/data/train.json"), "--prompt-column", "content",
                "--response-column", "summary", "--max-source-length", "24", "--max-target-length", "16", "--greedy",
                "--output-dir", eval.toString(), "--json", "-t", Cli.THREADS);
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode metrics = new ObjectMapper().readTree(r.out());
        assertThat(metrics.has("rouge-1") && metrics.has("bleu-4")).isTrue();
        assertThat(Files.readAllLines(eval.resolve("generated_predictions.txt"))).hasSize(7);
        assertThat(eval.resolve("predict_results.json")).exists();

        r = Cli.run("你好\n", "chat", "--model", Cli.fixture("model_a/checkpoint"), "--ptuning", ck.toString(),
                "-t", Cli.THREADS);
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).isNotBlank();
    }
}
