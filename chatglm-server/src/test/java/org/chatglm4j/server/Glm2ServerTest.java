package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.BatchingEngine;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.ConversationResponse;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.chat.Message;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The ChatGLM2 and ChatGLM3 fixture models served: the OpenAI API answers greedy requests exactly as the library's
 * chat() does (v2 with rounds; v3 with its own system message, through the batching engine the serve command
 * uses), and the reference API answers in api.py's shape.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Glm2ServerTest {
    private ChatGLM glm2, glm3;
    private BatchingEngine batching;
    private ChatServer server2, server3;
    private Http http2, http3;

    @BeforeAll
    void start() throws IOException {
        glm2 = ChatGLM.load(Fixtures.path("glm2/model/checkpoint"), LoadOptions.defaults().withThreads(2));
        glm3 = ChatGLM.load(Fixtures.path("glm3/model/checkpoint"), LoadOptions.defaults().withThreads(2));
        batching = new BatchingEngine(glm3, 2, 2);
        server2 = ChatServer.start(ServerOptions.defaults().withPort(0), glm2);
        server3 = ChatServer.start(ServerOptions.defaults().withPort(0), batching);
        http2 = new Http(server2.uri());
        http3 = new Http(server3.uri());
    }

    @AfterAll
    void stop() {
        server2.close();
        server3.close();
        batching.close();
        glm2.close();
        glm3.close();
    }

    @Test
    void chatGlm2OverTheOpenAiApi() {
        Http.Reply r = http2.post("v1/chat/completions", "{\"model\": \"m\", \"temperature\": 0, \"max_tokens\": 12,"
                + " \"messages\": [{\"role\": \"user\", \"content\": \"你好\"}, {\"role\": \"assistant\", \"content\": \"嗨\"},"
                + " {\"role\": \"user\", \"content\": \"晚上睡不着应该怎么办\"}]}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        ChatResponse want = glm2.chat("晚上睡不着应该怎么办", List.of(new Round("你好", "嗨")),
                GenerationConfig.greedy(glm2.config().maxSequenceLength()).withMaxNewTokens(12));
        JsonNode j = r.json();
        assertThat(j.at("/choices/0/message/content").asText()).isEqualTo(want.response());
        assertThat(j.at("/usage/prompt_tokens").asInt()).isEqualTo(want.promptTokens());
        assertThat(j.at("/usage/completion_tokens").asInt()).isEqualTo(want.completionTokens());
    }

    @Test
    void chatGlm3WithASystemMessageOverTheOpenAiApi() {
        Http.Reply r = http3.post("v1/chat/completions", "{\"model\": \"m\", \"temperature\": 0, \"max_tokens\": 12,"
                + " \"messages\": [{\"role\": \"system\", \"content\": \"You are ChatGLM3.\"},"
                + " {\"role\": \"user\", \"content\": \"你好\"}]}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        ConversationResponse want = glm3.chat(List.of(Message.system("You are ChatGLM3.")), Message.user("你好"),
                GenerationConfig.greedy(glm3.config().maxSequenceLength()).withMaxNewTokens(12));
        JsonNode j = r.json();
        assertThat(want.reply().isText()).isTrue();
        assertThat(j.at("/choices/0/message/content").asText()).isEqualTo(want.reply().content());
        assertThat(j.at("/usage/prompt_tokens").asInt()).isEqualTo(want.promptTokens());
        assertThat(j.at("/usage/completion_tokens").asInt()).isEqualTo(want.completionTokens());
        assertThat(j.at("/choices/0/finish_reason").asText()).isIn("stop", "length");
    }

    @Test
    void theReferenceApiServesBothFamilies() {
        for (Http http : List.of(http2, http3)) {
            Http.Reply r = http.post("", "{\"prompt\": \"你好\", \"history\": [], \"max_length\": 40}");
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            JsonNode j = r.json();
            assertThat(j.get("history").get(0).get(0).asText()).isEqualTo("你好");
            assertThat(j.get("history").get(0).get(1).asText()).isEqualTo(j.get("response").asText());
        }
    }
}
