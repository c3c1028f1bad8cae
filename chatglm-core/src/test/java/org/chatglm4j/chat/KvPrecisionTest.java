package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.testing.Fixtures.ints;

/** An fp16 KV cache keeps the reference's greedy generations on the fixture models. */
class KvPrecisionTest {

    @Test
    void fp16CacheGeneratesTheGoldenIds() {
        for (String m : List.of("model_a", "model_b")) {
            try (ChatGLM glm = ChatGLM.load(Fixtures.path(m + "/checkpoint"),
                    LoadOptions.defaults().withThreads(2).withKvCache(KvCache.Precision.F16))) {
                assertThat(glm.model().newCache().precision()).isEqualTo(KvCache.Precision.F16);
                for (JsonNode g : Fixtures.json(m + "/generate.json").get("generations")) {
                    int[] out = glm.generate(ints(g.get("input_ids")), GenerationConfig.greedy(g.get("max_length").asInt()),
                            null, null).generatedIds();
                    assertThat(out).as("%s %s", m, g.get("name").asText()).containsExactly(ints(g.get("generated_ids")));
                }
            }
        }
    }

    @Test
    void autoIsFloat32ForSmallModelsAndFp16ForRealSizes() {
        assertThat(KvCache.Precision.AUTO.resolve(ChatGlmConfig.chatglm6b())).isEqualTo(KvCache.Precision.F16);
        assertThat(KvCache.Precision.AUTO.resolve(ChatGlmConfig.chatglm2_6b())).isEqualTo(KvCache.Precision.F16);
        assertThat(KvCache.Precision.F32.resolve(ChatGlmConfig.chatglm6b())).isEqualTo(KvCache.Precision.F32);
        try (ChatGLM glm = ChatGLM.load(Fixtures.path("model_a/checkpoint"),
                LoadOptions.defaults().withThreads(2).withKvCache(KvCache.Precision.AUTO))) {
            assertThat(glm.model().kvPrecision()).isEqualTo(KvCache.Precision.F32);
            assertThat(glm.model().newCache().precision()).isEqualTo(KvCache.Precision.F32);
        }
    }
}
