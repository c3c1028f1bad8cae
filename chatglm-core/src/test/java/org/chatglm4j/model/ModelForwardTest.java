package org.chatglm4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.testing.Fixtures.floats;
import static org.chatglm4j.testing.Fixtures.ints;

/** Logits of full prompts and of cached decoding steps against the reference goldens (forward.json). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ModelForwardTest {
    static final float TOL = 1e-3f;

    private Parallel pool;
    private final java.util.Map<String, ChatGlmModel> models = new java.util.HashMap<>();
    private final List<Checkpoint> open = new ArrayList<>();

    @BeforeAll
    void setUp() {
        pool = new Parallel(2);
    }

    @AfterAll
    void tearDown() {
        open.forEach(Checkpoint::close);
        pool.close();
    }

    ChatGlmModel model(String name) {
        return models.computeIfAbsent(name, n -> {
            String base = switch (n) {
                case "ptuning_a" -> "model_a";
                case "ptuning_b" -> "model_b";
                default -> n;
            };
            Checkpoint ck = Checkpoint.open(Fixtures.path(base + "/checkpoint"));
            open.add(ck);
            ChatGlmConfig cfg = ChatGlmConfig.load(Fixtures.path(base + "/checkpoint/config.json"));
            ChatGlmWeights w = ChatGlmWeights.load(cfg, ck.tensors(), base);
            if (n.equals(base)) return new ChatGlmModel(w, pool);
            // P-tuning: base weights plus the prefix encoder of the trainer's checkpoint
            ChatGlmConfig pcfg = ChatGlmConfig.load(Fixtures.path(n + "/ptuning_checkpoint/config.json"));
            try (Checkpoint pck = Checkpoint.open(Fixtures.path(n + "/ptuning_checkpoint"))) {
                PrefixEncoder prefix = PrefixEncoder.load(cfg.withPrefix(pcfg.preSeqLen(), pcfg.prefixProjection()),
                        pck.tensors(), n);
                return new ChatGlmModel(w, prefix, pool);
            }
        });
    }

    static String golden(String m) {
        return m.startsWith("ptuning") ? m + "/ptuning.json" : m + "/forward.json";
    }

    static Stream<Arguments> prompts() {
        List<Arguments> out = new ArrayList<>();
        for (String m : List.of("model_a", "model_b", "ptuning_a", "ptuning_b")) {
            JsonNode prompts = Fixtures.json(golden(m)).get("prompts");
            for (int i = 0; i < prompts.size(); i++) out.add(Arguments.of(m, prompts.get(i).get("name").asText(), i));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("prompts")
    void fullSequenceLogitsAndPositions(String m, String name, int index) {
        ChatGlmModel model = model(m);
        JsonNode p = Fixtures.json(golden(m)).get("prompts").get(index);
        int[] ids = ints(p.get("input_ids"));
        PromptLayout layout = PromptLayout.of(ids, model.config());
        assertThat(layout.contextLength()).isEqualTo(p.get("context_length").asInt());
        assertThat(layout.maskPosition()).isEqualTo(p.get("mask_position").asInt());
        boolean twoD = model.config().positionEncoding2d();
        int[] pos = layout.positions(ids.length, twoD);
        int[] block = twoD ? layout.blockPositions(ids.length) : null;
        if (twoD) {
            assertThat(pos).containsExactly(ints(p.get("position_ids").get(0)));
            assertThat(block).containsExactly(ints(p.get("position_ids").get(1)));
        } else {
            assertThat(pos).containsExactly(ints(p.get("position_ids")));
        }

        KvCache cache = model.newCache();
        Batch batch = new Batch();
        batch.add(cache, ids, pos, block, layout.mask(), true);
        float[][] got = new float[ids.length][];
        int vocab = model.config().vocabSize();
        model.newRunner().forward(batch, (seg, i, logits, off) ->
                got[i] = java.util.Arrays.copyOfRange(logits, off, off + vocab));
        JsonNode want = p.get("logits");
        for (int i = 0; i < ids.length; i++) {
            assertClose(got[i], floats(want.get(i)), name + " position " + i);
            assertThat(argmax(got[i])).as("argmax at %d", i).isEqualTo(p.get("argmax_per_position").get(i).asInt());
        }

        // cached decoding: feed each generated token with the reference's decode positions
        JsonNode inc = p.get("incremental");
        if (inc == null) return;   // some P-tuning prompts record the full pass only
        Runner runner = model.newRunner();
        int length = ids.length;
        for (JsonNode step : inc.get("steps")) {
            int token = step.get("input_token").asInt();
            length++;
            int position = layout.decodePosition();
            int blockPos = layout.decodeBlockPosition(length);
            JsonNode wantPos = step.get("position_ids");
            if (twoD) {
                assertThat(new int[]{position, blockPos}).containsExactly(wantPos.get(0).get(0).asInt(), wantPos.get(1).get(0).asInt());
            } else {
                assertThat(position).isEqualTo(wantPos.get(0).asInt());
            }
            batch.clear();
            batch.add(cache, token, position, blockPos);
            float[][] stepLogits = new float[1][];
            runner.forward(batch, (seg, i, logits, off) ->
                    stepLogits[0] = java.util.Arrays.copyOfRange(logits, off, off + vocab));
            assertClose(stepLogits[0], floats(step.get("logits")), name + " step " + step.get("step").asInt());
            assertThat(argmax(stepLogits[0])).isEqualTo(step.get("next_token").asInt());
        }
    }

    /**
     * A prompt of several q/k/v chunks (and a last chunk of more than one chunk's rows) gives the logits of the same
     * forward computed in one chunk: rows reach the right cache positions and queries across chunk borders.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"model_a", "ptuning_b"})
    void longPromptInQkvChunksEqualsOneChunk(String m) {
        ChatGlmModel model = model(m);
        int[] tail = ints(Fixtures.json(golden(m)).get("prompts").get(0).get("input_ids"));
        int[] ids = new int[700];
        for (int i = 0; i < ids.length - tail.length; i++) ids[i] = tail[i % (tail.length - 2)];   // context tokens
        System.arraycopy(tail, 0, ids, ids.length - tail.length, tail.length);                   // ends [gMASK] sop
        PromptLayout layout = PromptLayout.of(ids, model.config());
        boolean twoD = model.config().positionEncoding2d();
        int vocab = model.config().vocabSize();
        float[][][] got = new float[2][ids.length][];
        Runner[] runners = {new Runner(model), new Runner(model, 1024)};
        for (int k = 0; k < 2; k++) {
            try (KvCache cache = model.newCache()) {
                Batch batch = new Batch();
                batch.add(cache, ids, layout.positions(ids.length, twoD), twoD ? layout.blockPositions(ids.length) : null,
                        layout.mask(), true);
                float[][] out = got[k];
                runners[k].forward(batch, (seg, i, logits, off) -> out[i] = java.util.Arrays.copyOfRange(logits, off, off + vocab));
            }
        }
        for (int i = 0; i < ids.length; i += 37) {
            assertThat(got[0][i]).as("row %d", i).containsExactly(got[1][i], org.assertj.core.data.Offset.offset(1e-4f));
        }
        assertThat(got[0][ids.length - 1]).containsExactly(got[1][ids.length - 1], org.assertj.core.data.Offset.offset(1e-4f));
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    static void assertClose(float[] got, float[] want, String what) {
        assertThat(got).as(what + " length").hasSize(want.length);
        float worst = 0;
        int at = -1;
        for (int i = 0; i < want.length; i++) {
            float d = Math.abs(got[i] - want[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        assertThat(worst).as("%s: max |Δ| at index %d (got %s, want %s)", what, at,
                at >= 0 ? got[at] : 0, at >= 0 ? want[at] : 0).isLessThanOrEqualTo(TOL);
    }
}
