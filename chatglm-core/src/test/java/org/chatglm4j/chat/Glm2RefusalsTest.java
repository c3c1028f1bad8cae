package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.model.Activations;
import org.chatglm4j.model.Batch;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What ChatGLM2/3 models refuse with a one-line error instead of a wrong answer. */
class Glm2RefusalsTest {

    @Test
    void beamSearchInAConversationThatKeepsItsCacheIsRefused() {
        try (ChatGLM glm = ChatGLM.load(Fixtures.path("glm3/model/checkpoint"), LoadOptions.defaults().withThreads(2));
             CachedConversation conv = glm.openConversation(List.of())) {
            GenerationConfig beams = GenerationConfig.greedy(64).withBeams(2, 1.0, false);
            assertThatThrownBy(() -> conv.streamChat(Message.user("你好"), beams, null, null))
                    .isInstanceOf(ChatGlmException.class).hasMessageContaining("beam search is not supported");
        }
    }

    @Test
    void trainingRecordsOnlyChatGlm6bBlocks() {
        try (ChatGLM glm = ChatGLM.load(Fixtures.path("glm2/model/checkpoint"), LoadOptions.defaults().withThreads(2));
             KvCache cache = glm.model().newCache()) {
            Batch batch = new Batch();
            batch.add(cache, 5, 0, 0);
            assertThatThrownBy(() -> glm.model().newRunner().forward(batch, (s, i, logits, off) -> { },
                    new Activations(glm.model().config())))
                    .isInstanceOf(ChatGlmException.class).hasMessageContaining("ChatGLM-6B models only");
        }
    }
}
