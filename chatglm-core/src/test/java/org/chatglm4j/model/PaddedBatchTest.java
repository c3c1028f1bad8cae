package org.chatglm4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.chatglm4j.model.ModelForwardTest.argmax;
import static org.chatglm4j.model.ModelForwardTest.assertClose;
import static org.chatglm4j.testing.Fixtures.floats;
import static org.chatglm4j.testing.Fixtures.ints;

/**
 * The left-padded batch of model_a/forward.json: three sequences in ONE forward pass with the explicit masks and
 * position ids Hugging Face's tokenizer builds, then greedy batch generation the way transformers 4.27 drives it
 * with a boolean mask (each new token sees what the previous last token saw, plus itself; finished sequences are
 * fed {@code <pad>}).
 */
class PaddedBatchTest {

    @Test
    void paddedBatchForwardAndGreedyGeneration() {
        JsonNode b = Fixtures.json("model_a/forward.json").get("batch");
        try (TestModels t = TestModels.load("model_a/checkpoint", 2)) {
            ChatGlmModel model = t.model();
            ChatGlmConfig cfg = model.config();
            int vocab = cfg.vocabSize();
            int n = b.get("input_ids").size();
            int len = b.get("input_ids").get(0).size();
            int[][] ids = new int[n][];
            KvCache[] caches = new KvCache[n];
            boolean[][] lastRow = new boolean[n][];
            int[] lastPos = new int[n], lastBlock = new int[n];
            Batch batch = new Batch();
            for (int s = 0; s < n; s++) {
                ids[s] = ints(b.get("input_ids").get(s));
                boolean[][] mask = new boolean[len][len];
                for (int i = 0; i < len; i++) {
                    for (int j = 0; j < len; j++) mask[i][j] = b.get("attention_mask").get(s).get(i).get(j).asInt() != 0;
                }
                int[] pos = ints(b.get("position_ids").get(s).get(0));
                int[] block = ints(b.get("position_ids").get(s).get(1));
                caches[s] = model.newCache();
                batch.add(caches[s], ids[s], pos, block, AttentionMask.explicit(mask), true);
                lastRow[s] = mask[len - 1];
                lastPos[s] = pos[len - 1];
                lastBlock[s] = block[len - 1];
            }
            float[][][] logits = new float[n][len][];
            Runner runner = model.newRunner();
            runner.forward(batch, (seg, i, l, off) -> logits[seg][i] = Arrays.copyOfRange(l, off, off + vocab));
            for (int s = 0; s < n; s++) {
                for (int i = 0; i < len; i++) {
                    assertThat(argmax(logits[s][i])).as("sequence %d position %d", s, i)
                            .isEqualTo(b.get("argmax_per_position").get(s).get(i).asInt());
                }
                assertClose(logits[s][len - 1], floats(b.get("last_position_logits").get(s)), "sequence " + s);
            }

            int maxLength = b.get("max_length").asInt();
            int[][] out = new int[n][maxLength];
            boolean[] finished = new boolean[n];
            int[] next = new int[n];
            for (int s = 0; s < n; s++) {
                System.arraycopy(ids[s], 0, out[s], 0, len);
                next[s] = argmax(logits[s][len - 1]);
            }
            for (int length = len; ; ) {
                for (int s = 0; s < n; s++) {
                    int token = finished[s] ? cfg.padTokenId() : next[s];
                    out[s][length] = token;
                    if (token == cfg.eosTokenId()) finished[s] = true;
                }
                length++;
                boolean allDone = true;
                for (boolean f : finished) allDone &= f;
                if (allDone || length >= maxLength) break;
                batch.clear();
                for (int s = 0; s < n; s++) {
                    boolean[] row = Arrays.copyOf(lastRow[s], length);   // new key: the token itself, visible
                    lastRow[s] = row;
                    lastBlock[s]++;
                    batch.add(caches[s], new int[]{out[s][length - 1]}, new int[]{lastPos[s]}, new int[]{lastBlock[s]},
                            AttentionMask.explicit(new boolean[][]{row}), false);
                }
                runner.forward(batch, (seg, i, l, off) -> next[seg] = argmax(Arrays.copyOfRange(l, off, off + vocab)));
            }
            for (int s = 0; s < n; s++) {
                assertThat(out[s]).as("output ids of sequence %d", s).containsExactly(ints(b.get("output_ids").get(s)));
            }
        }
    }
}
