package org.chatglm4j.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.listener.ChatModelResponseContext;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.GenerationConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The chat model against chatglm-core's own chat(): same replies, usage, finish reasons, listeners, sharing. */
class ChatGlmChatModelTest {
    private static ChatGLM direct;

    @BeforeAll
    static void load() {
        direct = ChatGLM.load(TestModels.fixture(), LoadOptions.defaults().withThreads(1));
    }

    @AfterAll
    static void close() {
        direct.close();
    }

    private static ChatGlmChatModel greedy() {
        return ChatGlmChatModel.builder().runtime(TestModels.shared()).temperature(0.0).build();
    }

    @Test
    void replyUsageAndFinishReasonAreThoseOfCoreChat() {
        List<ChatMessage> messages = List.of(UserMessage.from("你好"), AiMessage.from("你好👋"),
                UserMessage.from("晚上睡不着应该怎么办"));
        ChatResponse r = greedy().chat(ChatRequest.builder().messages(messages)
                .parameters(ChatRequestParameters.builder().maxOutputTokens(12).build()).build());
        var expected = direct.chat("晚上睡不着应该怎么办", List.of(new Round("你好", "你好👋")),
                GenerationConfig.greedy(2048).withMaxNewTokens(12));
        assertThat(r.aiMessage().text()).isEqualTo(expected.response());
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(expected.promptTokens());
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(12);
        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(r.metadata().modelName()).isEqualTo("checkpoint");
        // the token counter counts the same prompt the model was fed
        assertThat(new ChatGlmTokenCountEstimator(TestModels.shared()).estimateTokenCountInMessages(messages))
                .isEqualTo(r.tokenUsage().inputTokenCount());
    }

    @Test
    void systemMessageGoesInFrontOfTheFirstQuery() {
        ChatResponse r = greedy().chat(ChatRequest.builder().messages(SystemMessage.from("你是助手"), UserMessage.from("你好"))
                .parameters(ChatRequestParameters.builder().maxOutputTokens(6).build()).build());
        var expected = direct.chat("你是助手\n你好", List.of(), GenerationConfig.greedy(2048).withMaxNewTokens(6));
        assertThat(r.aiMessage().text()).isEqualTo(expected.response());
    }

    @Test
    void stopSequenceEndsTheReplyWithFinishReasonStop() {
        var full = direct.chat("你好", List.of(), GenerationConfig.greedy(2048).withMaxNewTokens(16)).response();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 1);
        ChatResponse r = greedy().chat(ChatRequest.builder().messages(UserMessage.from("你好"))
                .parameters(ChatRequestParameters.builder().maxOutputTokens(16).stopSequences(stop).build()).build());
        assertThat(r.aiMessage().text()).isEqualTo(full.substring(0, full.indexOf(stop)));
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void listenersSeeRequestWithMergedDefaultsAndResponse() {
        List<Object> seen = new CopyOnWriteArrayList<>();
        ChatModelListener listener = new ChatModelListener() {
            @Override
            public void onRequest(ChatModelRequestContext ctx) {
                seen.add(ctx.chatRequest().parameters().maxOutputTokens());
                seen.add(ctx.chatRequest().parameters().temperature());
            }

            @Override
            public void onResponse(ChatModelResponseContext ctx) {
                seen.add(ctx.chatResponse().tokenUsage().outputTokenCount());
            }
        };
        ChatGlmChatModel model = ChatGlmChatModel.builder().runtime(TestModels.shared()).temperature(0.0)
                .maxOutputTokens(3).listeners(List.of(listener)).build();
        model.chat("你好");
        assertThat(seen).containsExactly(3, 0.0, 3);
        assertThat(model.defaultRequestParameters().maxOutputTokens()).isEqualTo(3);
        assertThat(model.supportedCapabilities()).isEmpty();
    }

    @Test
    void manyCallersShareOneModelAndAreBatched() throws Exception {
        ChatGlmChatModel a = greedy();
        ChatGlmStreamingChatModel b = ChatGlmStreamingChatModel.builder().runtime(TestModels.shared()).temperature(0.0).build();
        String[] queries = {"你好", "晚上睡不着应该怎么办", "ChatGLM-6B 是", "hello world", "1+1=", "再见"};
        List<String> expected = new ArrayList<>();
        for (String q : queries) {
            expected.add(direct.chat(q, List.of(), GenerationConfig.greedy(2048).withMaxNewTokens(40)).response());
        }
        ExecutorService pool = Executors.newFixedThreadPool(queries.length);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<String>> replies = new ArrayList<>();
        int[] maxRunning = {0};
        for (int i = 0; i < queries.length; i++) {
            String q = queries[i];
            boolean streaming = i % 2 == 1;
            replies.add(pool.submit(() -> {
                start.await();
                ChatRequest req = ChatRequest.builder().messages(UserMessage.from(q))
                        .parameters(ChatRequestParameters.builder().maxOutputTokens(40).build()).build();
                if (!streaming) return a.chat(req).aiMessage().text();
                var done = new java.util.concurrent.CompletableFuture<ChatResponse>();
                b.chat(req, new dev.langchain4j.model.chat.response.StreamingChatResponseHandler() {
                    @Override
                    public void onPartialResponse(String partial) {
                        synchronized (maxRunning) {
                            var e = TestModels.shared().engine();
                            maxRunning[0] = Math.max(maxRunning[0], e.inFlight() - e.queued());
                        }
                    }

                    @Override
                    public void onCompleteResponse(ChatResponse r) {
                        done.complete(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                        done.completeExceptionally(t);
                    }
                });
                return done.get().aiMessage().text();
            }));
        }
        start.countDown();
        for (int i = 0; i < queries.length; i++) assertThat(replies.get(i).get()).isEqualTo(expected.get(i));
        pool.shutdown();
        assertThat(maxRunning[0]).as("chats decoded together").isGreaterThan(1);
    }

    @Test
    void unsupportedDefaultsFailAtBuildTimeAndBadNumbersToo() {
        assertThatThrownBy(() -> ChatGlmChatModel.builder().runtime(TestModels.shared())
                .defaultRequestParameters(ChatRequestParameters.builder().toolSpecifications(
                        dev.langchain4j.agent.tool.ToolSpecification.builder().name("t").build()).build()).build())
                .isInstanceOf(UnsupportedFeatureException.class).hasMessageContaining("tools are not supported");
        assertThatThrownBy(() -> ChatGlmChatModel.builder().runtime(TestModels.shared()).topP(0.0).build())
                .hasMessageContaining("top_p must be > 0");
        assertThatThrownBy(() -> ChatGlmChatModel.builder().build())
                .hasMessageContaining("give either runtime");
        assertThatThrownBy(() -> greedy().chat(ChatRequest.builder().messages(UserMessage.from("a"), AiMessage.from("b")).build()))
                .hasMessageContaining("the last message must come from the user");
    }

    @Test
    void ownModelFromABuilderIsClosedWithTheChatModel() {
        try (ChatGlmChatModel own = ChatGlmChatModel.builder().modelPath(TestModels.fixture()).threads(1)
                .temperature(0.0).maxOutputTokens(4).build()) {
            assertThat(own.chat("你好")).isEqualTo(
                    direct.chat("你好", List.of(), GenerationConfig.greedy(2048).withMaxNewTokens(4)).response());
        }
    }
}
