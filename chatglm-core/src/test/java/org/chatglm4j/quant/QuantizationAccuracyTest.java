package org.chatglm4j.quant;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.tensor.Activations;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.quant.QuantizedGoldenTest.fullLogits;
import static org.chatglm4j.quant.QuantizedGoldenTest.maxDiff;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * Error of each quantized format against the fp16 model on both fixture models: the weights' relative RMS error
 * (where grouped formats, a scale per 32 values, must beat the reference's one scale per row) and the logits'
 * mean and max absolute error over every position of every forward.json prompt (printed for
 * docs/performance.md; on these tiny random models the max is dominated by a few amplified positions).
 */
class QuantizationAccuracyTest {

    @Test
    void groupedFormatsAreMoreAccurateThanPerRowScales() {
        for (String m : List.of("model_a", "model_b")) {
            Map<String, Float> err = new LinkedHashMap<>();
            Map<String, Double> meanErr = new LinkedHashMap<>();
            Map<String, Double> weightErr = new LinkedHashMap<>();
            try (Parallel pool = new Parallel(2); Arena arena = Arena.ofShared();
                 Checkpoint ck = Checkpoint.open(Fixtures.path(m + "/checkpoint"))) {
                ChatGlmConfig cfg = ChatGlmConfig.load(Fixtures.path(m + "/checkpoint/config.json"));
                ChatGlmModel reference = new ChatGlmModel(ChatGlmWeights.load(cfg, ck.tensors(), m), pool);
                // the grouped formats with each activation path (the property is read when the matrices are made)
                for (String variant : List.of("int8", "q8/float", "q8/int8", "int4", "q4/float", "q4/int8")) {
                    QuantFormat f = QuantFormat.parse(variant.split("/")[0]);
                    ChatGlmModel q;
                    try {
                        if (variant.contains("/")) System.setProperty(Activations.PROPERTY, variant.split("/")[1]);
                        q = new ChatGlmModel(ChatGlmWeights.load(cfg, ck.tensors(), m, f, QuantFormat.NONE, arena), pool);
                    } finally {
                        System.clearProperty(Activations.PROPERTY);
                    }
                    float worst = 0;
                    double sum = 0;
                    long n = 0;
                    for (JsonNode p : Fixtures.json(m + "/forward.json").get("prompts")) {
                        int[] ids = ints(p.get("input_ids"));
                        float[][] a = fullLogits(reference, ids), b = fullLogits(q, ids);
                        for (int i = 0; i < ids.length; i++) {
                            worst = Math.max(worst, maxDiff(a[i], b[i]));
                            for (int v = 0; v < a[i].length; v++, n++) sum += Math.abs(a[i][v] - b[i][v]);
                        }
                    }
                    err.put(variant, worst);
                    meanErr.put(variant, sum / n);
                    double se = 0, ss = 0;
                    for (int l = 0; l < cfg.numLayers(); l++) {
                        var wr = reference.weights().layers()[l];
                        var wq = q.weights().layers()[l];
                        for (var pair : List.of(List.of(wr.queryKeyValue(), wq.queryKeyValue()), List.of(wr.dense(), wq.dense()),
                                List.of(wr.denseHTo4h(), wq.denseHTo4h()), List.of(wr.dense4hToH(), wq.dense4hToH()))) {
                            var x = pair.get(0).weight();
                            var y = pair.get(1).weight();
                            float[] rx = new float[x.cols()], ry = new float[x.cols()];
                            for (int r = 0; r < x.rows(); r++) {
                                x.readRow(r, rx, 0);
                                y.readRow(r, ry, 0);
                                for (int c = 0; c < rx.length; c++) {
                                    se += (rx[c] - ry[c]) * (double) (rx[c] - ry[c]);
                                    ss += rx[c] * (double) rx[c];
                                }
                            }
                        }
                    }
                    weightErr.put(variant, Math.sqrt(se / ss));
                }
            }
            for (String f : err.keySet()) {
                System.out.printf("%s %-8s weight rel. RMS error %.4f   logits vs fp16: mean |Δ| %.4f, max |Δ| %.4f%n",
                        m, f, weightErr.get(f), meanErr.get(f), err.get(f));
            }
            assertThat(weightErr.get("q8/float")).isLessThan(weightErr.get("int8"));
            assertThat(weightErr.get("q4/float")).isLessThan(weightErr.get("int4"));
            // int8 activations add an error of their own (1/254 of each block's largest value at most) that must
            // stay small beside the 4-bit weights' error
            assertThat(meanErr.get("q4/int8")).isLessThan(1.25 * meanErr.get("q4/float"));
            assertThat(meanErr.get("q8/int8")).isLessThan(1.25 * meanErr.get("q8/float"));
        }
    }
}
