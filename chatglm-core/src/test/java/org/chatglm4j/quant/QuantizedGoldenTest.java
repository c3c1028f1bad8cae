package org.chatglm4j.quant;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.generate.Generator;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.io.TensorRef;
import org.chatglm4j.model.Batch;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.model.PromptLayout;
import org.chatglm4j.tensor.F16;
import org.chatglm4j.tensor.F16Matrix;
import org.chatglm4j.tensor.Int4Matrix;
import org.chatglm4j.tensor.Int8Matrix;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tensor.Q4Layout;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.testing.Fixtures.floats;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * The reference INT8/INT4 path (model_a/quantized.json): pre-quantized checkpoints load and give the reference
 * CPU kernels' logits and greedy generations; quantizing the fp16 checkpoint while loading gives exactly the
 * reference's quantized tensors (checkpoint_int8/int4 double as quantizer goldens).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class QuantizedGoldenTest {
    private Parallel pool;
    private Arena arena;

    @BeforeAll
    void setUp() {
        pool = new Parallel(2);
        arena = Arena.ofShared();
    }

    @AfterAll
    void tearDown() {
        pool.close();
        arena.close();
    }

    static float[][] fullLogits(ChatGlmModel model, int[] ids) {
        ChatGlmConfig cfg = model.config();
        PromptLayout layout = PromptLayout.of(ids, cfg);
        Batch b = new Batch();
        b.add(model.newCache(), ids, layout.positions(ids.length, cfg.positionEncoding2d()),
                layout.blockPositions(ids.length), layout.mask(), true);
        float[][] out = new float[ids.length][];
        model.newRunner().forward(b, (s, i, l, o) -> out[i] = Arrays.copyOfRange(l, o, o + cfg.vocabSize()));
        return out;
    }

    static float maxDiff(float[] a, float[] b) {
        float m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @ParameterizedTest(name = "int{0} checkpoint")
    @ValueSource(ints = {8, 4})
    void preQuantizedCheckpointsMatchTheReferenceCpuPath(int bits) {
        JsonNode ck = null;
        for (JsonNode c : Fixtures.json("model_a/quantized.json").get("checkpoints")) if (c.get("bits").asInt() == bits) ck = c;
        String dir = "model_a/" + ck.get("dir").asText();
        ChatGlmConfig cfg = ChatGlmConfig.load(Fixtures.path(dir + "/config.json"));
        assertThat(cfg.quantizationBit()).isEqualTo(bits);
        try (Checkpoint checkpoint = Checkpoint.open(Fixtures.path(dir))) {
            ChatGlmModel model = new ChatGlmModel(ChatGlmWeights.load(cfg, checkpoint.tensors(), dir,
                    QuantFormat.NONE, QuantFormat.NONE, arena), pool);
            assertThat(model.weights().layers()[0].queryKeyValue().weight().format()).isEqualTo("int" + bits);
            for (JsonNode p : ck.get("prompts")) {
                int[] ids = ints(p.get("input_ids"));
                float[][] got = fullLogits(model, ids);
                for (int i = 0; i < ids.length; i++) {
                    assertThat(maxDiff(got[i], floats(p.get("logits").get(i)))).as("%s position %d", p.get("name"), i)
                            .isLessThanOrEqualTo(1e-3f);
                }
                JsonNode g = p.get("generation");
                GenerationResult r = new Generator(model).generate(ints(g.get("input_ids")),
                        GenerationConfig.greedy(g.get("max_length").asInt()), t -> true, null);
                assertThat(r.generatedIds()).containsExactly(ints(g.get("generated_ids")));
            }
        }
    }

    @Test
    void quantizingTheFp16CheckpointReproducesTheReferenceTensors() {
        try (Checkpoint fp16 = Checkpoint.open(Fixtures.path("model_a/checkpoint"));
             Checkpoint int8 = Checkpoint.open(Fixtures.path("model_a/checkpoint_int8"));
             Checkpoint int4 = Checkpoint.open(Fixtures.path("model_a/checkpoint_int4"))) {
            int checked = 0;
            for (Map.Entry<String, TensorRef> e : int8.tensors().entrySet()) {
                String name = e.getKey();
                if (!name.endsWith(".weight") || !int8.tensors().containsKey(name + "_scale")) continue;
                TensorRef src = fp16.get(name);
                int rows = (int) src.shape()[0], cols = (int) src.shape()[1];
                F16Matrix w = new F16Matrix(src.data(), rows, cols);

                Int8Matrix q8 = Quantizer.referenceInt8(w, arena);
                MemorySegment ref8 = e.getValue().data();
                for (int r = 0; r < rows; r++) {
                    for (int c = 0; c < cols; c++) {
                        if (q8.quant(r, c) != ref8.get(ValueLayout.JAVA_BYTE, (long) r * cols + c)) {
                            assertThat(q8.quant(r, c)).as("int8 value [%d, %d] of %s", r, c, name)
                                    .isEqualTo(ref8.get(ValueLayout.JAVA_BYTE, (long) r * cols + c));
                        }
                    }
                }
                assertScales(q8.scales(), int8.get(name + "_scale"), name);

                Int4Matrix q4 = Quantizer.referenceInt4(w, arena);
                TensorRef ref4 = int4.get(name);
                assertScales(q4.scales(), int4.get(name + "_scale"), name);
                for (int r = 0; r < rows; r++) {
                    for (int j = 0; j < cols / 2; j++) {
                        byte b = ref4.data().get(ValueLayout.JAVA_BYTE, (long) r * (cols / 2) + j);
                        long base = r * Q4Layout.rowBytes(cols);
                        assertThat(Q4Layout.get(q4.quants(), base, 2 * j) - 8).isEqualTo(b >> 4);
                        assertThat(Q4Layout.get(q4.quants(), base, 2 * j + 1) - 8).isEqualTo((byte) (b << 4) >> 4);
                    }
                }
                checked++;
            }
            assertThat(checked).isEqualTo(4 * 3);
        }
    }

    static void assertScales(float[] got, TensorRef want, String name) {
        for (int r = 0; r < got.length; r++) {
            float w = F16.toFloat(want.data().getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, r));
            assertThat(got[r]).as("scale %d of %s", r, name).isEqualTo(w);
        }
    }

    @ParameterizedTest(name = "--quantize {0}")
    @ValueSource(strings = {"8", "4"})
    void quantizingWhileLoadingEqualsThePreQuantizedCheckpoint(String format) {
        QuantFormat f = QuantFormat.parse(format);
        String dir = f == QuantFormat.INT8 ? "model_a/checkpoint_int8" : "model_a/checkpoint_int4";
        try (Checkpoint fp16 = Checkpoint.open(Fixtures.path("model_a/checkpoint"));
             Checkpoint pre = Checkpoint.open(Fixtures.path(dir))) {
            ChatGlmConfig cfg = ChatGlmConfig.load(Fixtures.path("model_a/checkpoint/config.json"));
            ChatGlmModel onTheFly = new ChatGlmModel(ChatGlmWeights.load(cfg, fp16.tensors(), "fp16", f, QuantFormat.NONE, arena), pool);
            ChatGlmConfig qcfg = ChatGlmConfig.load(Fixtures.path(dir + "/config.json"));
            ChatGlmModel stored = new ChatGlmModel(ChatGlmWeights.load(qcfg, pre.tensors(), dir, QuantFormat.NONE, QuantFormat.NONE, arena), pool);
            int[] ids = ints(Fixtures.json("model_a/forward.json").get("prompts").get(1).get("input_ids"));
            float[][] a = fullLogits(onTheFly, ids), b = fullLogits(stored, ids);
            // same quantized values; only float summation order may differ (interpreted vs JIT-compiled reductions)
            for (int i = 0; i < ids.length; i++) assertThat(maxDiff(a[i], b[i])).isLessThanOrEqualTo(1e-4f);
        }
    }
}
