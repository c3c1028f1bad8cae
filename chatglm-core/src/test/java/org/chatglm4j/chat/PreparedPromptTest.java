package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.testing.Fixtures;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** Dropping the oldest rounds gives exactly the fewest drops that fit, in time linear in the history. */
class PreparedPromptTest {
    static final ChatGlmTokenizer TOK = ChatGlmTokenizer.load(Fixtures.path("model_a/checkpoint"));

    /** The definition: drop one more round at a time until the whole prompt fits (quadratic, fine for small cases). */
    static PreparedPrompt oracle(String query, List<Round> history, GenerationConfig config) {
        int room = config.maxNewTokens() > 0 ? config.maxNewTokens() : 1;
        for (int dropped = 0; ; dropped++) {
            int[] ids = TOK.encodeForModel(ChatPrompt.build(query, history.subList(dropped, history.size())));
            if (ids.length + room <= config.maxLength()) return new PreparedPrompt(ids, dropped);
            if (dropped == history.size()) return null;
        }
    }

    /** The ChatGLM-6B format's prompt fitting, as ChatGLM and the batching engine run it. */
    static PreparedPrompt prepare(String query, List<Round> history, GenerationConfig config) {
        return Glm1ChatFormat.INSTANCE.prepare(PromptTokenizer.of(TOK), Message.fromRounds(history), Message.user(query),
                config);
    }

    @Test
    void sameDropsAsTheDefinitionOnRandomHistories() {
        Random rnd = new Random(7);
        String[] words = {"你好", "hello", " ", "  ", "\n", "\t", "<eop>", "<sop>", "[MASK]", "123", "晚上睡不着", "x",
                "[Round 3]", "问：", "答：", "😀", ""};
        for (int c = 0; c < 300; c++) {
            List<Round> history = new ArrayList<>();
            int n = rnd.nextInt(25);
            for (int i = 0; i < n; i++) history.add(new Round(text(rnd, words), text(rnd, words)));
            String query = text(rnd, words);
            GenerationConfig config = new GenerationConfig(5 + rnd.nextInt(300), rnd.nextInt(3) == 0 ? rnd.nextInt(40) : 0,
                    GenerationConfig.greedy(10).sampling(), null, List.of());
            PreparedPrompt want = oracle(query, history, config);
            if (want == null) {
                assertThatThrownBy(() -> prepare(query, history, config))
                        .isInstanceOf(ChatGlmException.class).hasMessageContaining("no room for a reply");
            } else {
                PreparedPrompt got = prepare(query, history, config);
                assertThat(got.dropped()).as("case %d", c).isEqualTo(2 * want.dropped());   // messages: two a round
                assertThat(got.ids()).isEqualTo(want.ids());
            }
        }
    }

    private static String text(Random rnd, String[] words) {
        StringBuilder sb = new StringBuilder();
        for (int k = rnd.nextInt(12); k > 0; k--) sb.append(words[rnd.nextInt(words.length)]);
        return sb.toString();
    }

    @Test
    void aHundredThousandEmptyRoundsAreDroppedInLinearTime() {
        // issue 10: ~1 MiB of ["",""] rounds with max_length 5 used to re-tokenize the prompt once per dropped round
        List<Round> history = Collections.nCopies(100_000, new Round("", ""));
        GenerationConfig config = GenerationConfig.greedy(40);
        PreparedPrompt p = assertTimeoutPreemptively(Duration.ofSeconds(20),
                () -> prepare("hi", history, config));
        assertThat(p.ids().length).isLessThan(40);
        assertThat(p.dropped() / 2).isGreaterThan(99_990);
        assertThat(oracleTail(history, p.dropped() / 2, config)).isTrue();
    }

    /** Dropping one round fewer would not fit: the answer is the fewest drops. */
    private static boolean oracleTail(List<Round> history, int dropped, GenerationConfig config) {
        int[] ids = TOK.encodeForModel(ChatPrompt.build("hi", history.subList(dropped - 1, history.size())));
        return ids.length + 1 > config.maxLength();
    }
}
