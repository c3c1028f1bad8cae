package org.chatglm4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.cglm.CglmWriter;
import org.chatglm4j.chat.ChatFormatKind;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.model.ModelForwardTest.argmax;
import static org.chatglm4j.testing.Fixtures.floats;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * ChatGLM2/3 with {@code --quantize} (int8/int4 and the grouped q8/q4) and through a {@code .cglm} file: a .cglm
 * written from a model gives bit-identical logits to loading the folder with the same quantization, and the
 * quantized logits stay near the float32 goldens.
 */
class Glm2QuantizeConvertTest {
    @TempDir
    Path tmp;

    static float[][] promptLogits(ChatGLM glm, JsonNode prompt) {
        ChatGlmModel m = glm.model();
        int vocab = m.config().vocabSize();
        int[] ids = ints(prompt.get("input_ids"));
        float[][] rows = new float[ids.length][];
        int[] pos = new int[ids.length];
        for (int i = 0; i < ids.length; i++) pos[i] = i;
        Batch b = new Batch();
        try (KvCache cache = m.newCache()) {
            b.add(cache, ids, pos, null, AttentionMask.prompt(0), true);
            m.newRunner().forward(b, (s, i, l, off) -> rows[i] = Arrays.copyOfRange(l, off, off + vocab));
        }
        return rows;
    }

    /**
     * @param maxDiff bound on the mean |Δ| against the float32 golden (the tiny random model's logits have std ≈ 3.5)
     * @param minAgree fraction of positions whose argmax matches the golden's
     */
    @ParameterizedTest
    // measured: int8 0.064 (19/20), q8 0.055 (20/20), int4 0.95 (12/20), q4 0.82 (9/20), glm3 q4 0.69 (6/9): 4 bits on
    // 64-wide random rows (two blocks per row) is coarse; the bounds catch a broken kernel or layout, not noise
    @CsvSource({"glm2, NONE, 1e-5, 1.0", "glm2, INT8, 0.1, 0.9", "glm2, Q8, 0.1, 0.9", "glm2, INT4, 1.2, 0.4",
            "glm2, Q4, 1.2, 0.4", "glm3, Q4, 1.2, 0.4", "glm3, NONE, 1e-5, 1.0"})
    void quantizedFolderEqualsItsCglmAndStaysNearTheGolden(String family, QuantFormat q, float maxDiff,
                                                           double minAgree) {
        JsonNode prompt = Fixtures.json(family + "/model/forward.json").get("prompts").get(0);
        Path folder = Fixtures.path(family + "/model/checkpoint");
        LoadOptions options = LoadOptions.defaults().withThreads(2).withQuantize(q);
        float[][] direct;
        try (ChatGLM glm = ChatGLM.load(folder, options)) {
            assertThat(glm.architecture()).isEqualTo(Architecture.GLM2);
            direct = promptLogits(glm, prompt);
        }
        Path file = tmp.resolve(family + "-" + q + ".cglm");
        CglmWriter.convert(folder, q, QuantFormat.NONE, file, null);
        try (ChatGLM glm = ChatGLM.load(file, LoadOptions.defaults().withThreads(2))) {
            assertThat(glm.chatFormat().kind()).isEqualTo(family.equals("glm3") ? ChatFormatKind.GLM3
                    : ChatFormatKind.GLM2);
            assertThat(glm.glm2Tokenizer().hasRoleTokens()).isEqualTo(family.equals("glm3"));
            float[][] viaFile = promptLogits(glm, prompt);
            // same quantized weights; only the summation order of a few kernels may differ
            for (int i = 0; i < direct.length; i++) {
                for (int v = 0; v < direct[i].length; v++) {
                    assertThat(viaFile[i][v]).as("row %d id %d", i, v).isCloseTo(direct[i][v],
                            org.assertj.core.api.Assertions.within(1e-4f));
                }
            }
        }
        int agree = 0;
        double sum = 0;
        long n = 0;
        for (int i = 0; i < direct.length; i++) {
            float[] want = floats(prompt.get("logits").get(i));
            for (int v = 0; v < want.length; v++, n++) sum += Math.abs(direct[i][v] - want[v]);
            if (argmax(direct[i]) == prompt.get("argmax_per_position").get(i).asInt()) agree++;
        }
        assertThat(sum / n).as("%s %s mean |Δ| vs the float32 golden", family, q).isLessThanOrEqualTo(maxDiff);
        assertThat((double) agree / direct.length).as("%s %s argmax agreement", family, q).isGreaterThanOrEqualTo(minAgree);
    }
}
