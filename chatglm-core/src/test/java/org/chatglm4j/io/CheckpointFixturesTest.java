package org.chatglm4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every checkpoint format of the golden fixtures loads, to the documented names, types, shapes and bytes. */
class CheckpointFixturesTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The reference state_dict() names and shapes (fixtures README 3.2) of a model, in order. */
    private static Map<String, long[]> referenceLayout(int vocab, int hidden, int heads, int layers, int inner,
                                                       boolean twoD) {
        Map<String, long[]> m = new java.util.LinkedHashMap<>();
        int rotary = twoD ? hidden / (heads * 2) : hidden / heads;
        m.put("transformer.word_embeddings.weight", new long[]{vocab, hidden});
        for (int i = 0; i < layers; i++) {
            String p = "transformer.layers." + i + ".";
            m.put(p + "input_layernorm.weight", new long[]{hidden});
            m.put(p + "input_layernorm.bias", new long[]{hidden});
            m.put(p + "attention.rotary_emb.inv_freq", new long[]{rotary / 2});
            m.put(p + "attention.query_key_value.weight", new long[]{3L * hidden, hidden});
            m.put(p + "attention.query_key_value.bias", new long[]{3L * hidden});
            m.put(p + "attention.dense.weight", new long[]{hidden, hidden});
            m.put(p + "attention.dense.bias", new long[]{hidden});
            m.put(p + "post_attention_layernorm.weight", new long[]{hidden});
            m.put(p + "post_attention_layernorm.bias", new long[]{hidden});
            m.put(p + "mlp.dense_h_to_4h.weight", new long[]{inner, hidden});
            m.put(p + "mlp.dense_h_to_4h.bias", new long[]{inner});
            m.put(p + "mlp.dense_4h_to_h.weight", new long[]{hidden, inner});
            m.put(p + "mlp.dense_4h_to_h.bias", new long[]{hidden});
        }
        m.put("transformer.final_layernorm.weight", new long[]{hidden});
        m.put("transformer.final_layernorm.bias", new long[]{hidden});
        m.put("lm_head.weight", new long[]{vocab, hidden});
        return m;
    }

    private static void assertLayout(Checkpoint c, Map<String, long[]> expected, DType dtype) {
        assertThat(c.tensors().keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
        for (TensorRef t : c.tensors().values()) {
            assertThat(t.dtype()).as(t.name()).isEqualTo(dtype);
            assertThat(t.shape()).as(t.name()).isEqualTo(expected.get(t.name()));
        }
    }

    @Test
    void modelACheckpointHoldsTheReferenceStateDictInOrder() {
        Path folder = Fixtures.path("model_a/checkpoint");
        try (Checkpoint c = Checkpoint.open(folder)) {
            Map<String, long[]> expected = referenceLayout(1644, 64, 4, 3, 160, true);
            assertThat(c.format()).isEqualTo(Checkpoint.PYTORCH);
            assertThat(c.files()).containsExactly(folder.resolve("pytorch_model.bin"));
            assertThat(c.tensors().keySet()).containsExactlyElementsOf(expected.keySet());
            assertLayout(c, expected, DType.F16);
            assertThat(c.totalBytes()).isEqualTo(646744); // total_size of checkpoint_sharded's index
            // README 3.2: lm_head.weight holds exactly the values of the word embeddings (separate storages)
            TensorRef embeddings = c.get("transformer.word_embeddings.weight");
            TensorRef lmHead = c.get("lm_head.weight");
            assertThat(embeddings.data().address()).isNotEqualTo(lmHead.data().address());
            assertThat(embeddings.data().mismatch(lmHead.data())).isEqualTo(-1);
            assertThat(c.get("transformer.final_layernorm.bias").file()).isEqualTo(folder.resolve("pytorch_model.bin"));
        }
    }

    @Test
    void singleShardedAndSafetensorsCheckpointsAreIdentical() {
        try (Checkpoint single = Checkpoint.open(Fixtures.path("model_a/checkpoint"));
             Checkpoint sharded = Checkpoint.open(Fixtures.path("model_a/checkpoint_sharded"));
             Checkpoint safetensors = Checkpoint.open(Fixtures.path("model_a/checkpoint_safetensors"))) {
            assertThat(sharded.format()).isEqualTo(Checkpoint.PYTORCH_SHARDED);
            assertThat(sharded.files()).extracting(p -> p.getFileName().toString())
                    .containsExactly("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin");
            assertThat(safetensors.format()).isEqualTo(Checkpoint.SAFETENSORS);
            for (Checkpoint other : List.of(sharded, safetensors)) {
                assertThat(other.tensors().keySet()).containsExactlyInAnyOrderElementsOf(single.tensors().keySet());
                assertThat(other.totalBytes()).isEqualTo(single.totalBytes());
                for (TensorRef t : single.tensors().values()) {
                    TensorRef o = other.get(t.name());
                    assertThat(o.dtype()).as(t.name()).isEqualTo(t.dtype());
                    assertThat(o.shape()).as(t.name()).isEqualTo(t.shape());
                    assertThat(o.data().mismatch(t.data())).as(t.name()).isEqualTo(-1);
                }
            }
        }
    }

    @Test
    void shardedTensorsComeFromTheShardTheIndexNames() {
        Path folder = Fixtures.path("model_a/checkpoint_sharded");
        JsonNode map = Fixtures.json("model_a/checkpoint_sharded/pytorch_model.bin.index.json").get("weight_map");
        try (Checkpoint c = Checkpoint.open(folder)) {
            assertThat(c.tensors()).hasSize(map.size());
            map.properties().forEach(e ->
                    assertThat(c.get(e.getKey()).file()).isEqualTo(folder.resolve(e.getValue().asText())));
        }
    }

    @Test
    void quantizedCheckpointsHoldTheQuantizedLinearLayout() {
        for (int bits : new int[]{8, 4}) {
            try (Checkpoint q = Checkpoint.open(Fixtures.path("model_a/checkpoint_int" + bits));
                 Checkpoint plain = Checkpoint.open(Fixtures.path("model_a/checkpoint"))) {
                Map<String, long[]> reference = referenceLayout(1644, 64, 4, 3, 160, true);
                List<String> expectedNames = new ArrayList<>();
                for (Map.Entry<String, long[]> e : reference.entrySet()) {
                    String name = e.getKey();
                    boolean quantized = name.matches(".*\\.(query_key_value|dense|dense_h_to_4h|dense_4h_to_h)\\.weight");
                    if (!quantized) {
                        expectedNames.add(name);
                        TensorRef t = q.get(name);
                        assertThat(t.dtype()).as(name).isEqualTo(DType.F16);
                        assertThat(t.shape()).as(name).isEqualTo(e.getValue());
                        // embeddings, LayerNorms, biases and lm_head are kept as they were
                        assertThat(t.data().mismatch(plain.get(name).data())).as(name).isEqualTo(-1);
                        continue;
                    }
                    long out = e.getValue()[0];
                    long in = e.getValue()[1];
                    expectedNames.add(name);
                    expectedNames.add(name + "_scale");
                    TensorRef w = q.get(name);
                    assertThat(w.dtype()).as(name).isEqualTo(DType.I8);
                    assertThat(w.shape()).as(name).containsExactly(out, bits == 8 ? in : in / 2);
                    TensorRef scale = q.get(name + "_scale");
                    assertThat(scale.dtype()).as(name).isEqualTo(DType.F16);
                    assertThat(scale.shape()).as(name).containsExactly(out);
                }
                assertThat(q.tensors().keySet()).containsExactlyInAnyOrderElementsOf(expectedNames);
                // README 3.3 order within a quantized linear: .bias, .weight, .weight_scale
                List<String> order = new ArrayList<>(q.tensors().keySet());
                String qkv = "transformer.layers.1.attention.query_key_value.";
                assertThat(order.indexOf(qkv + "weight")).isEqualTo(order.indexOf(qkv + "bias") + 1);
                assertThat(order.indexOf(qkv + "weight_scale")).isEqualTo(order.indexOf(qkv + "weight") + 1);
            }
        }
    }

    @Test
    void modelBCheckpointLoads() {
        try (Checkpoint c = Checkpoint.open(Fixtures.path("model_b/checkpoint"))) {
            Map<String, long[]> expected = referenceLayout(1544, 96, 6, 2, 256, false);
            assertThat(c.tensors().keySet()).containsExactlyElementsOf(expected.keySet());
            assertLayout(c, expected, DType.F16);
        }
    }

    @Test
    void ptuningCheckpointIsAPlainDictOfFloat32() {
        try (Checkpoint c = Checkpoint.open(Fixtures.path("ptuning_a/ptuning_checkpoint/pytorch_model.bin"))) {
            assertThat(c.format()).isEqualTo(Checkpoint.PYTORCH);
            assertThat(c.tensors()).containsOnlyKeys("transformer.prefix_encoder.embedding.weight");
            TensorRef t = c.get("transformer.prefix_encoder.embedding.weight");
            assertThat(t.dtype()).isEqualTo(DType.F32);
            assertThat(t.shape()).containsExactly(4, 2 * 3 * 64);
        }
        try (Checkpoint c = Checkpoint.open(Fixtures.path("ptuning_b/ptuning_checkpoint"))) {
            String p = "transformer.prefix_encoder.";
            assertThat(c.tensors().keySet()).containsExactlyInAnyOrder(p + "embedding.weight", p + "trans.0.weight",
                    p + "trans.0.bias", p + "trans.2.weight", p + "trans.2.bias");
            assertThat(c.get(p + "embedding.weight").shape()).containsExactly(4, 96);
            assertThat(c.get(p + "trans.0.weight").shape()).containsExactly(96, 96);
            assertThat(c.get(p + "trans.2.weight").shape()).containsExactly(2 * 2 * 96, 96);
            assertThat(c.get(p + "trans.2.bias").shape()).containsExactly(2 * 2 * 96);
            assertThat(c.tensors().values()).allSatisfy(t -> assertThat(t.dtype()).isEqualTo(DType.F32));
        }
    }

    @Test
    void float32ValuesAreReadAtTheRightOffsets() {
        // train.json records the parameters saved in ptuning_checkpoint_after_training as float32 decimals
        JsonNode rows = Fixtures.json("ptuning_a/train.json").get("training_with_grad_clipping")
                .get("final_parameters").get("transformer.prefix_encoder.embedding.weight");
        try (Checkpoint c = Checkpoint.open(Fixtures.path("ptuning_a/ptuning_checkpoint_after_training"))) {
            MemorySegment data = c.get("transformer.prefix_encoder.embedding.weight").data();
            float[][] expected = Fixtures.floatRows(rows);
            int cols = expected[0].length;
            for (int r = 0; r < expected.length; r++) {
                for (int j = 0; j < cols; j++) {
                    assertThat(data.get(F32, 4L * (r * cols + j))).as("[%d][%d]", r, j).isEqualTo(expected[r][j]);
                }
            }
        }
    }

    @Test
    void missingTensorNamesTensorAndFolder() {
        Path folder = Fixtures.path("model_a/checkpoint");
        try (Checkpoint c = Checkpoint.open(folder)) {
            assertThatThrownBy(() -> c.get("transformer.layers.9.mlp.dense_h_to_4h.weight"))
                    .isInstanceOf(ChatGlmException.class)
                    .hasMessageContaining("'transformer.layers.9.mlp.dense_h_to_4h.weight'")
                    .hasMessageContaining(folder.toString());
        }
    }
}
