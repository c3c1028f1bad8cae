package org.chatglm4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The same forward pass gives the same bits every time in one process: from the first, interpreted call to the
 * JIT-compiled ones (lane sums in a fixed order, {@code tensor/Lanes}). With int8 activations (q4) a few ulps of
 * difference used to grow to 1e-3 after rounding.
 */
class DeterminismTest {

    private static float[][] logits(ChatGLM glm, JsonNode prompt) {
        ChatGlmModel m = glm.model();
        if (m.config().isGlm2()) return Glm2QuantizeConvertTest.promptLogits(glm, prompt);
        int[] ids = org.chatglm4j.testing.Fixtures.ints(prompt.get("input_ids"));
        PromptLayout layout = PromptLayout.of(ids, m.config());
        int vocab = m.config().vocabSize();
        float[][] rows = new float[ids.length][];
        Batch b = new Batch();
        try (KvCache cache = m.newCache()) {
            b.add(cache, ids, layout.positions(ids.length, true), layout.blockPositions(ids.length), layout.mask(), true);
            m.newRunner().forward(b, (s, i, l, off) -> rows[i] = java.util.Arrays.copyOfRange(l, off, off + vocab));
        }
        return rows;
    }

    @ParameterizedTest
    @CsvSource({"model_a/checkpoint, model_a/forward.json, NONE", "glm3/model/checkpoint, glm3/model/forward.json, Q4",
            "glm2/model/checkpoint, glm2/model/forward.json, INT4"})
    void repeatedForwardPassesAreBitIdentical(String model, String golden, QuantFormat q) {
        JsonNode prompt = Fixtures.json(golden).get("prompts").get(0);
        try (ChatGLM glm = ChatGLM.load(Fixtures.path(model), LoadOptions.defaults().withThreads(2).withQuantize(q))) {
            float[][] first = logits(glm, prompt);
            for (int it = 1; it < 60; it++) {
                float[][] again = logits(glm, prompt);
                for (int i = 0; i < first.length; i++) {
                    assertThat(again[i]).as("pass %d, row %d", it, i).isEqualTo(first[i]);
                }
            }
        }
    }
}
