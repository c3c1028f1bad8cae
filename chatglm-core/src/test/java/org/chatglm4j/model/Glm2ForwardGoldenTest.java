package org.chatglm4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.generate.Generator;
import org.chatglm4j.generate.TokenListener;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.model.ModelForwardTest.argmax;
import static org.chatglm4j.model.ModelForwardTest.assertClose;
import static org.chatglm4j.testing.Fixtures.floats;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * ChatGLM2-6B and ChatGLM3-6B against {@code glm2/} and {@code glm3/} (copied from shared/fixtures): full-sequence
 * logits, KV-cache steps, the left-padded batch with greedy batch generation, greedy {@code generate()} with the
 * reference's eos lists, every checkpoint container, and the P-Tuning v2 prefixes. Logits within 1e-3.
 */
class Glm2ForwardGoldenTest {

    static TestModels load(String checkpoint, String ptuning, int threads) {
        Checkpoint ck = Checkpoint.open(Fixtures.path(checkpoint));
        ChatGlmConfig cfg = ChatGlmConfig.load(Fixtures.path(checkpoint).resolve("config.json"));
        assertThat(cfg.architecture()).isEqualTo(Architecture.GLM2);
        PrefixEncoder prefix = null;
        if (ptuning != null) {
            ChatGlmConfig pcfg = ChatGlmConfig.load(Fixtures.path(ptuning).resolve("config.json"));
            try (Checkpoint pck = Checkpoint.open(Fixtures.path(ptuning))) {
                prefix = PrefixEncoder.load(cfg.withPrefix(pcfg.preSeqLen(), pcfg.prefixProjection()), pck.tensors(),
                        ptuning);
            }
        }
        Parallel pool = new Parallel(threads);
        return new TestModels(new ChatGlmModel(ChatGlmWeights.load(cfg, ck.tensors(), checkpoint), prefix, pool), ck,
                pool);
    }

    @ParameterizedTest
    @CsvSource({"glm2, glm2/model/checkpoint, 2", "glm2, glm2/model/checkpoint_safetensors, 1",
            "glm3, glm3/model/checkpoint, 2", "glm3, glm3/model/checkpoint_sharded, 3"})
    void promptLogitsAndCachedSteps(String family, String checkpoint, int threads) {
        JsonNode g = Fixtures.json(family + "/model/forward.json");
        try (TestModels t = load(checkpoint, null, threads)) {
            for (JsonNode prompt : g.get("prompts")) checkPrompt(t.model(), prompt, family);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm2", "glm3"})
    void ptuningPrefixLogitsStepsAndGenerations(String family) {
        JsonNode g = Fixtures.json(family + "/ptuning/ptuning.json");
        try (TestModels t = load(family + "/model/checkpoint", family + "/ptuning/ptuning_checkpoint", 2)) {
            assertThat(t.model().newCache().prefixLength()).isEqualTo(t.model().config().preSeqLen()).isPositive();
            for (JsonNode prompt : g.get("prompts")) {
                checkPrompt(t.model(), prompt, family + " ptuning");
                if (prompt.has("generation")) checkGeneration(t.model(), prompt.get("generation"), family + " ptuning");
            }
        }
    }

    /** Full logits (or the last row) of the prompt, then each recorded step fed alone with the cache. */
    static void checkPrompt(ChatGlmModel model, JsonNode prompt, String family) {
        String name = family + " " + prompt.get("name").asText();
        int vocab = model.config().vocabSize();
        int[] ids = ints(prompt.get("input_ids"));
        int[] positions = ints(prompt.get("position_ids"));
        float[][] rows = new float[ids.length][];
        Runner runner = model.newRunner();
        Batch batch = new Batch();
        try (KvCache cache = model.newCache()) {
            batch.add(cache, ids, positions, null, AttentionMask.prompt(0), true);
            runner.forward(batch, (s, i, l, off) -> rows[i] = Arrays.copyOfRange(l, off, off + vocab));
            for (int i = 0; i < ids.length; i++) {
                assertThat(argmax(rows[i])).as("%s argmax at %d", name, i)
                        .isEqualTo(prompt.get("argmax_per_position").get(i).asInt());
            }
            if (prompt.has("logits")) {
                for (int i = 0; i < ids.length; i++) {
                    assertClose(rows[i], floats(prompt.get("logits").get(i)), name + " logits row " + i);
                }
            } else {
                assertClose(rows[ids.length - 1], floats(prompt.get("last_logits")), name + " last logits");
            }
            if (!prompt.has("incremental")) return;
            float[][] step = new float[1][];
            for (JsonNode st : prompt.get("incremental").get("steps")) {
                assertThat(cache.length()).as(name + " past length (prefix included, as the reference counts it)").isEqualTo(st.get("past_length").asInt());
                batch.clear();
                batch.add(cache, st.get("input_token").asInt(), st.get("position_id").asInt(), 0);
                runner.forward(batch, (s, i, l, off) -> step[0] = Arrays.copyOfRange(l, off, off + vocab));
                assertClose(step[0], floats(st.get("logits")), name + " step " + st.get("step").asInt());
                assertThat(argmax(step[0])).as(name + " next token").isEqualTo(st.get("next_token").asInt());
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"glm2", "glm3"})
    void greedyGenerations(String family) {
        JsonNode g = Fixtures.json(family + "/model/generate.json");
        try (TestModels t = load(family + "/model/checkpoint", null, 2)) {
            for (JsonNode gen : g.get("generations")) checkGeneration(t.model(), gen, family);
        }
    }

    /** {@code generate(input_ids, max_length, do_sample=False, eos_token_id=[…])} through the Generator. */
    static void checkGeneration(ChatGlmModel model, JsonNode gen, String family) {
        String name = family + " generation " + gen.get("name").asText();
        List<Integer> eos = new ArrayList<>();
        gen.get("eos_token_id").forEach(e -> eos.add(e.asInt()));
        GenerationConfig config = GenerationConfig.greedy(gen.get("max_length").asInt()).withEosTokenIds(eos);
        GenerationResult r = new Generator(model).generate(ints(gen.get("input_ids")), config, TokenListener.NONE, null);
        assertThat(r.generatedIds()).as(name).containsExactly(ints(gen.get("generated_ids")));
        assertThat(r.finishReason().name().toLowerCase()).as(name + " stopped by")
                .isEqualTo(gen.get("stopped_by").asText().equals("eos") ? "eos" : "length");
    }

    /**
     * The left-padded batch in ONE forward pass with the reference's masks (a real query sees real keys j ≤ i; a
     * padding query sees every key), then greedy batch generation: each step feeds every row's last token at its
     * last position + 1, padding columns stay hidden, finished rows are fed the pad id.
     */
    @ParameterizedTest
    @ValueSource(strings = {"glm2", "glm3"})
    void leftPaddedBatch(String family) {
        JsonNode b = Fixtures.json(family + "/model/forward.json").get("batch");
        try (TestModels t = load(family + "/model/checkpoint", null, 2)) {
            ChatGlmModel model = t.model();
            ChatGlmConfig cfg = model.config();
            int vocab = cfg.vocabSize();
            int n = b.get("input_ids").size();
            int len = b.get("input_ids").get(0).size();
            KvCache[] caches = new KvCache[n];
            boolean[][] lastRow = new boolean[n][];
            int[] lastPos = new int[n];
            Batch batch = new Batch();
            for (int s = 0; s < n; s++) {
                int[] ids = ints(b.get("input_ids").get(s));
                int[] attention = ints(b.get("attention_mask").get(s));
                boolean[][] mask = new boolean[len][len];
                for (int i = 0; i < len; i++) {
                    for (int j = 0; j < len; j++) {
                        mask[i][j] = attention[i] != 0 && (j > i || attention[j] == 0);
                    }
                }
                int[] pos = ints(b.get("position_ids").get(s));
                caches[s] = model.newCache();
                batch.add(caches[s], ids, pos, null, AttentionMask.explicit(mask), true);
                lastRow[s] = new boolean[len];
                for (int j = 0; j < len; j++) lastRow[s][j] = attention[j] == 0;
                lastPos[s] = pos[len - 1];
            }
            float[][][] logits = new float[n][len][];
            Runner runner = model.newRunner();
            runner.forward(batch, (seg, i, l, off) -> logits[seg][i] = Arrays.copyOfRange(l, off, off + vocab));
            for (int s = 0; s < n; s++) {
                for (int i = 0; i < len; i++) {
                    assertThat(argmax(logits[s][i])).as("%s sequence %d position %d", family, s, i)
                            .isEqualTo(b.get("argmax_per_position").get(s).get(i).asInt());
                }
                assertClose(logits[s][len - 1], floats(b.get("last_position_logits").get(s)), family + " row " + s);
            }

            int maxLength = b.get("max_length").asInt();
            List<List<Integer>> out = new ArrayList<>();
            boolean[] finished = new boolean[n];
            int[] next = new int[n];
            for (int s = 0; s < n; s++) {
                List<Integer> row = new ArrayList<>();
                for (int id : ints(b.get("input_ids").get(s))) row.add(id);
                out.add(row);
                next[s] = argmax(logits[s][len - 1]);
            }
            for (int length = len; ; ) {
                for (int s = 0; s < n; s++) {
                    int token = finished[s] ? cfg.padTokenId() : next[s];
                    out.get(s).add(token);
                    if (token == cfg.eosTokenId()) finished[s] = true;
                }
                length++;
                boolean allDone = true;
                for (boolean f : finished) allDone &= f;
                if (allDone || length >= maxLength) break;
                batch.clear();
                for (int s = 0; s < n; s++) {
                    lastRow[s] = Arrays.copyOf(lastRow[s], length);   // the new key (the token itself) is visible
                    lastPos[s]++;
                    batch.add(caches[s], new int[]{out.get(s).get(length - 1)}, new int[]{lastPos[s]}, null,
                            AttentionMask.explicit(new boolean[][]{lastRow[s]}), false);
                }
                runner.forward(batch, (seg, i, l, off) -> next[seg] = argmax(Arrays.copyOfRange(l, off, off + vocab)));
            }
            for (int s = 0; s < n; s++) {
                assertThat(out.get(s)).as("%s output ids of row %d", family, s)
                        .containsExactly(Arrays.stream(ints(b.get("output_ids").get(s))).boxed().toArray(Integer[]::new));
                caches[s].close();
            }
        }
    }
}
