package org.chatglm4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.model.LayerWeights;
import org.chatglm4j.model.Linear;
import org.chatglm4j.tensor.F32Matrix;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tensor.WeightMatrix;
import org.chatglm4j.testing.Fixtures;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Training over the reference's INT8 / INT4 checkpoints of model_a: the backward reads the quantized weights
 * through their transposed product (never a float32 copy), and must give what a float32 model holding the
 * dequantized weights gives. (The gradient itself moves a lot with quantization on these tiny random models: 27%
 * of max |g| for INT8, more for INT4, while the loss moves by 0.1% and 1.4%.)
 */
class QuantizedBaseTrainingTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"model_a/checkpoint_int8, 0.01", "model_a/checkpoint_int4, 0.05"})
    void gradientOverAQuantizedBaseEqualsTheGradientOverItsDequantizedWeights(String base, double lossTol) {
        JsonNode g = Fixtures.json("ptuning_a/train.json");
        ChatGlmConfig cfg = ChatGlmConfig.load(Fixtures.path(base + "/config.json"));
        try (Arena arena = Arena.ofShared(); Parallel pool = new Parallel(2); Checkpoint ck = Checkpoint.open(Fixtures.path(base))) {
            ChatGlmModel model = new ChatGlmModel(ChatGlmWeights.load(cfg, ck.tensors(), base, QuantFormat.NONE, QuantFormat.NONE, arena), pool);
            assertThat(model.weights().layers()[0].queryKeyValue().weight().format()).startsWith("int");
            PTuningTrainer t = new PTuningTrainer(model, ChatGlmTokenizer.load(Fixtures.path("model_a/checkpoint")),
                    TrainingGoldenTest.options("ptuning_a", g.get("hyperparameters"), 1.0, tmp));
            JsonNode first = g.get("first_micro_batch");
            List<TrainingExample> mb = new ArrayList<>();
            for (JsonNode i : first.get("example_indices")) mb.add(t.examples().get(i.asInt()));
            double loss = t.lossAndGradient(mb, 1.0, 0, true);
            float[] got = t.prefix().gradients().get(0);
            // the same weights dequantized to float32 (a test-only copy): the backward must agree with it
            ChatGlmModel dense = new ChatGlmModel(dequantized(model.weights(), arena), pool);
            PTuningTrainer d = new PTuningTrainer(dense, ChatGlmTokenizer.load(Fixtures.path("model_a/checkpoint")),
                    TrainingGoldenTest.options("ptuning_a", g.get("hyperparameters"), 1.0, tmp));
            double denseLoss = d.lossAndGradient(mb, 1.0, 0, true);
            float[] want = d.prefix().gradients().get(0);
            assertThat(loss).isCloseTo(denseLoss, org.assertj.core.data.Offset.offset(1e-5 * denseLoss));
            double max = 0, diff = 0;
            for (int i = 0; i < want.length; i++) {
                max = Math.max(max, Math.abs(want[i]));
                diff = Math.max(diff, Math.abs(want[i] - got[i]));
            }
            assertThat(diff).isLessThanOrEqualTo(1e-5 * max);
            // and the quantization's own effect on the loss stays small (the float model's is the golden's)
            assertThat(Math.abs(loss - first.get("loss").asDouble())).isLessThanOrEqualTo(lossTol * first.get("loss").asDouble());
        }
    }

    static ChatGlmWeights dequantized(ChatGlmWeights w, Arena arena) {
        LayerWeights[] layers = new LayerWeights[w.layers().length];
        for (int l = 0; l < layers.length; l++) {
            LayerWeights x = w.layers()[l];
            layers[l] = new LayerWeights(x.inputLayernormWeight(), x.inputLayernormBias(), dense(x.queryKeyValue(), arena),
                    dense(x.dense(), arena), x.postAttentionLayernormWeight(), x.postAttentionLayernormBias(),
                    dense(x.denseHTo4h(), arena), dense(x.dense4hToH(), arena));
        }
        return new ChatGlmWeights(w.config(), w.wordEmbeddings(), layers, w.finalLayernormWeight(), w.finalLayernormBias(), w.lmHead());
    }

    private static Linear dense(Linear q, Arena arena) {
        WeightMatrix m = q.weight();
        MemorySegment seg = arena.allocate(4L * m.rows() * m.cols(), 64);
        float[] row = new float[m.cols()];
        for (int r = 0; r < m.rows(); r++) {
            m.readRow(r, row, 0);
            MemorySegment.copy(row, 0, seg, ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * r * m.cols(), m.cols());
        }
        return new Linear(new F32Matrix(seg, m.rows(), m.cols()), q.bias());
    }
}
