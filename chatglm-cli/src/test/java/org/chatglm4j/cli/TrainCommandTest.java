package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code chatglm train}: the contract of issue 8 on the fixtures, bad input, a killed run resumed, Ctrl-C. */
class TrainCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** The contract's command line for ptuning_a (the reference's hyperparameters of train.json). */
    static List<String> contract(Path out, int maxSteps, int saveSteps) {
        return new ArrayList<>(List.of("train", "--model", Cli.fixture("model_a/checkpoint"),
                "--ptuning", Cli.fixture("ptuning_a/ptuning_checkpoint"),
                "--train-file", Cli.fixture("ptuning_a/data/train.json"), "--prompt-column", "content",
                "--response-column", "summary", "--max-source-length", "24", "--max-target-length", "16",
                "--pre-seq-len", "4", "--learning-rate", "2e-2", "--max-steps", Integer.toString(maxSteps),
                "--per-device-train-batch-size", "2", "--gradient-accumulation-steps", "2", "--max-grad-norm", "1.0",
                "--no-shuffle", "--prefix-dropout", "0", "--logging-steps", "1", "--save-steps", Integer.toString(saveSteps),
                "--output-dir", out.toString(), "-t", Cli.THREADS));
    }

    @Test
    void progressShowsSlowRatesWithThreeSignificantDigits() {
        assertThat(TrainCommand.rate(0.4567)).isEqualTo("0.457");
        assertThat(TrainCommand.rate(1.1)).isEqualTo("1.1");
        assertThat(TrainCommand.rate(12.345)).isEqualTo("12.3");
        assertThat(TrainCommand.rate(1234.5)).isEqualTo("1235");
        assertThat(TrainCommand.rate(0)).isEqualTo("0");
        assertThat(TrainCommand.rate(Double.NaN)).isEqualTo("0");
    }

    @Test
    void contractReproducesTheReferenceTraining() throws Exception {
        Path out = tmp.resolve("out");
        Cli.Result r = Cli.run("", contract(out, 5, 5).toArray(String[]::new));
        assertThat(r.status()).as(r.err()).isZero();
        try (Checkpoint ours = Checkpoint.open(out.resolve("checkpoint-5"));
             Checkpoint ref = Checkpoint.open(Fixtures.path("ptuning_a/ptuning_checkpoint_after_training"))) {
            assertThat(ours.tensors().keySet()).containsExactlyInAnyOrderElementsOf(ref.tensors().keySet());
            for (String name : ref.tensors().keySet()) {
                assertThat(ChatGlmWeights.toFloats(ours.tensors().get(name))).as(name)
                        .containsExactly(ChatGlmWeights.toFloats(ref.tensors().get(name)), org.assertj.core.data.Offset.offset(1e-4f));
            }
        }
        JsonNode steps = Fixtures.json("ptuning_a/train.json").get("training_with_grad_clipping").get("steps");
        JsonNode history = JSON.readTree(out.resolve("trainer_state.json").toFile()).get("log_history");
        List<JsonNode> losses = new ArrayList<>();
        history.forEach(e -> {
            if (e.has("loss")) losses.add(e);
        });
        assertThat(losses).hasSize(5);
        for (int i = 0; i < 5; i++) {
            double want = steps.get(i).get("loss").asDouble();
            assertThat(losses.get(i).get("step").asInt()).isEqualTo(i + 1);
            assertThat(losses.get(i).get("loss").asDouble()).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-4 * want));
            assertThat(losses.get(i).has("learning_rate") && losses.get(i).has("epoch")).isTrue();
        }
        assertThat(Files.readAllLines(out.resolve("train_log.jsonl"))).hasSize(history.size());
        JsonNode config = JSON.readTree(out.resolve("checkpoint-5/config.json").toFile());
        assertThat(config.get("pre_seq_len").asInt()).isEqualTo(4);
        assertThat(config.get("prefix_projection").asBoolean()).isFalse();
        // the checkpoint is a --ptuning folder for the other commands
        Cli.Result gen = Cli.run("", "generate", "--model", Cli.fixture("model_a/checkpoint"), "--ptuning",
                out.resolve("checkpoint-5").toString(), "--max-new-tokens", "4", "-t", Cli.THREADS, "-p", "你好");
        assertThat(gen.status()).as(gen.err()).isZero();
    }

    @Test
    void badDataNamesFileLineAndColumnAndWritesNothing() throws Exception {
        Path data = tmp.resolve("bad.json");
        Files.writeString(data, "{\"content\": \"a\", \"summary\": \"b\"}\n{\"content\": \"a\", \"summary\": }\n");
        Path out = tmp.resolve("out");
        List<String> args = contract(out, 2, 1);
        args.set(args.indexOf("--train-file") + 1, data.toString());
        Cli.Result r = Cli.run("", args.toArray(String[]::new));
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).startsWith("chatglm: error: " + data + ":2:29: invalid JSON");
        assertThat(out).doesNotExist();

        Files.writeString(data, "{\"content\": \"a\", \"summary\": \"b\"}\n{\"content\": \"a\"}\n");
        r = Cli.run("", args.toArray(String[]::new));
        assertThat(r.err()).startsWith("chatglm: error: " + data + ":2:1: no column \"summary\"");

        Files.writeString(data, "\n");
        r = Cli.run("", args.toArray(String[]::new));
        assertThat(r.err()).startsWith("chatglm: error: " + data + ": no data");
        assertThat(out).doesNotExist();
    }

    @Test
    void initialCheckpointMustAgreeWithThePrefixOptions() {
        List<String> args = contract(tmp.resolve("out"), 2, 1);
        args.set(args.indexOf("--pre-seq-len") + 1, "8");
        Cli.Result r = Cli.run("", args.toArray(String[]::new));
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("the checkpoint has pre_seq_len 4 and prefix_projection false, the options say 8 and false");
        args = contract(tmp.resolve("out"), 2, 1);
        args.add("--resume");
        r = Cli.run("", args.toArray(String[]::new));
        assertThat(r.err()).contains("--resume found no checkpoint-N folder");
    }

    @Test
    void tooLongSequencesFailBeforeTraining() {
        List<String> args = contract(tmp.resolve("out"), 2, 1);
        args.set(args.indexOf("--max-source-length") + 1, "4000");
        Cli.Result r = Cli.run("", args.toArray(String[]::new));
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.err()).contains("exceeds the model's max_sequence_length 2048");
    }

    /** Starts {@code chatglm} in its own JVM, so that it can be killed. */
    static Process spawn(List<String> args, Path log) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--add-modules", "jdk.incubator.vector", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                "org.chatglm4j.cli.Main"));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static void waitFor(Path file, Process p) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!Files.exists(file) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(5);
    }

    @Test
    void killedRunResumesToTheParametersOfAnUninterruptedRun() throws Exception {
        int steps = 12;
        Path straight = tmp.resolve("straight");
        Cli.Result r = Cli.run("", contract(straight, steps, 2).toArray(String[]::new));
        assertThat(r.status()).as(r.err()).isZero();

        Path killed = tmp.resolve("killed");
        Process p = spawn(contract(killed, steps, 2), tmp.resolve("killed.log"));
        waitFor(killed.resolve("checkpoint-4"), p);
        p.destroyForcibly();   // SIGKILL: no chance to clean up
        p.waitFor(1, TimeUnit.MINUTES);
        assertThat(Files.readString(tmp.resolve("killed.log"))).doesNotContain("trained after");
        assertThat(Files.exists(killed.resolve("checkpoint-" + steps))).as("killed before the end").isFalse();

        List<String> resume = contract(killed, steps, 2);
        resume.add("--resume");
        r = Cli.run("", resume.toArray(String[]::new));
        assertThat(r.status()).as(r.err()).isZero();
        assertSameParameters(straight.resolve("checkpoint-" + steps), killed.resolve("checkpoint-" + steps));
        JsonNode a = JSON.readTree(straight.resolve("trainer_state.json").toFile()).get("log_history");
        JsonNode b = JSON.readTree(killed.resolve("trainer_state.json").toFile()).get("log_history");
        for (int i = 0; i < steps; i++) {
            assertThat(b.get(i).get("step").asInt()).isEqualTo(i + 1);
            assertThat(b.get(i).get("loss").asDouble()).isCloseTo(a.get(i).get("loss").asDouble(), org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    @Test
    void interruptSavesACheckpointAndStops() throws Exception {
        Path out = tmp.resolve("out");
        Process p = spawn(contract(out, 100000, 100000), tmp.resolve("int.log"));
        waitFor(out.resolve("train_log.jsonl"), p);
        Thread.sleep(300);
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
        String log = Files.readString(tmp.resolve("int.log"));
        assertThat(p.exitValue()).as(log).isEqualTo(130);
        assertThat(log).contains("chatglm: saved ").contains("stopped after ");
        File[] cks = out.toFile().listFiles((d, n) -> n.startsWith("checkpoint-"));
        assertThat(cks).hasSize(1);
        assertThat(new File(cks[0], "pytorch_model.bin")).exists();
    }

    static void assertSameParameters(Path a, Path b) {
        try (Checkpoint x = Checkpoint.open(a); Checkpoint y = Checkpoint.open(b)) {
            for (String name : x.tensors().keySet()) {
                float[] u = ChatGlmWeights.toFloats(x.tensors().get(name)), v = ChatGlmWeights.toFloats(y.tensors().get(name));
                double max = 0;
                for (int i = 0; i < u.length; i++) max = Math.max(max, Math.abs(u[i] - v[i]));
                assertThat(max).as(name + " max |Δ|").isLessThanOrEqualTo(1e-4);
            }
        }
    }
}
