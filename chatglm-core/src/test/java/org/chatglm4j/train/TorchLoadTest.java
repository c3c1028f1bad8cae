package org.chatglm4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.model.TestModels;
import org.chatglm4j.testing.Fixtures;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A checkpoint written by {@link PTuningTrainer} loads in Python with {@code torch.load} and a strict
 * {@code load_state_dict} into a prefix encoder of the reference's shape (the way ptuning/main.py loads
 * {@code --ptuning_checkpoint}). Needs a python3 with torch (Debian: {@code apt-get install python3-torch});
 * skipped, saying so, when there is none.
 */
class TorchLoadTest {

    @TempDir
    Path tmp;

    /** A python3 that can import torch, or null. Debian's package lives in /usr/bin's python3. */
    static String pythonWithTorch() {
        for (String python : List.of("/usr/bin/python3", "python3")) {
            try {
                Process p = new ProcessBuilder(python, "-c", "import torch").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0) return python;
            } catch (IOException e) {
                // not installed: try the next
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    @ParameterizedTest
    @ValueSource(strings = {"ptuning_a", "ptuning_b"})
    void checkpointLoadsWithTorchLoadAndLoadStateDict(String fixture) throws Exception {
        String python = pythonWithTorch();
        Assumptions.assumeTrue(python != null,
                "no python3 with torch (install Debian's python3-torch): torch.load compatibility not checked");
        JsonNode g = Fixtures.json(fixture + "/train.json");
        String base = fixture.equals("ptuning_a") ? "model_a/checkpoint" : "model_b/checkpoint";
        TrainingOptions.Builder b = TrainingOptions.builder(Fixtures.path(fixture + "/data/train.json"),
                g.get("hyperparameters").get("prompt_column").asText(), g.get("hyperparameters").get("response_column").asText(), tmp);
        JsonNode hp = g.get("hyperparameters");
        b.historyColumn = hp.get("history_column").isNull() ? null : hp.get("history_column").asText();
        b.maxSourceLength = hp.get("max_source_length").asInt();
        b.maxTargetLength = hp.get("max_target_length").asInt();
        b.preSeqLen = hp.get("pre_seq_len").asInt();
        b.prefixProjection = hp.get("prefix_projection").asBoolean();
        b.maxSteps = 1;
        b.saveSteps = 1;
        b.batchSize = 2;
        b.gradientAccumulationSteps = 1;
        TrainingResult r;
        try (TestModels m = TestModels.load(base, 2)) {
            r = new PTuningTrainer(m.model(), ChatGlmTokenizer.load(Fixtures.path(base)), b.build()).train(new TrainingListener() {
            });
        }
        Path ck = tmp.resolve("checkpoint-1");
        Path script = tmp.resolve("torch_load_check.py");
        try (InputStream in = getClass().getResourceAsStream("/train/torch_load_check.py")) {
            Files.write(script, in.readAllBytes());
        }
        Process p = new ProcessBuilder(python, script.toString(), ck.toString()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("python failed:\n" + err).isZero();
        JsonNode json = new ObjectMapper().readTree(out.lines().reduce((x, y) -> y).orElse("{}"));
        TrainablePrefix prefix = r.prefix();
        assertThat(json.get("parameters").size()).isEqualTo(prefix.names().size());
        for (int k = 0; k < prefix.names().size(); k++) {
            String name = prefix.names().get(k).substring("transformer.prefix_encoder.".length());
            double sum = 0;
            for (float v : prefix.parameters().get(k)) sum += v;
            assertThat(json.get("parameters").get(name).get(1).asDouble()).as(name).isCloseTo(sum,
                    org.assertj.core.data.Offset.offset(1e-6 * (1 + Math.abs(sum))));
        }
        assertThat(json.get("optimizer").size()).isEqualTo(2 * prefix.names().size());
    }
}
