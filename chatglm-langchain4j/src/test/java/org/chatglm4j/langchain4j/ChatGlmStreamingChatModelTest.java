package org.chatglm4j.langchain4j;

import dev.langchain4j.model.chat.listener.ChatModelErrorContext;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.listener.ChatModelRequestContext;
import dev.langchain4j.model.chat.listener.ChatModelResponseContext;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The handler contract of LangChain4j's streaming suite (its three user-exception tests also check that the reply
 * says "Berlin", which the fixture model cannot): exceptions from the handler reach its onError and the listeners,
 * generation goes on, and one thrown by onError is ignored.
 */
class ChatGlmStreamingChatModelTest {

    /** Records listener calls by kind. */
    private static final class Recorder implements ChatModelListener {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override
        public void onRequest(ChatModelRequestContext ctx) {
            calls.add("request");
        }

        @Override
        public void onResponse(ChatModelResponseContext ctx) {
            calls.add("response");
        }

        @Override
        public void onError(ChatModelErrorContext ctx) {
            calls.add("error");
        }
    }

    private static ChatGlmStreamingChatModel model(Recorder r) {
        return ChatGlmStreamingChatModel.builder().runtime(TestModels.shared()).temperature(0.0).maxOutputTokens(8)
                .listeners(List.of(r)).build();
    }

    @Test
    void exceptionsFromOnPartialResponseGoToOnErrorAndTheReplyCompletes() throws Exception {
        Recorder rec = new Recorder();
        AtomicInteger partials = new AtomicInteger();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        RuntimeException boom = new RuntimeException("user code");
        model(rec).chat("你好", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                partials.incrementAndGet();
                throw boom;
            }

            @Override
            public void onCompleteResponse(ChatResponse r) {
                done.complete(r);
            }

            @Override
            public void onError(Throwable t) {
                errors.add(t);
            }
        });
        ChatResponse r = done.get(30, SECONDS);
        assertThat(r.aiMessage().text()).isNotBlank();
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(8);
        assertThat(partials.get()).isPositive();
        assertThat(errors).hasSize(partials.get()).containsOnly(boom);
        assertThat(rec.calls.stream().filter("error"::equals).count()).isEqualTo(partials.get());
        assertThat(rec.calls).startsWith("request").endsWith("response");
    }

    @Test
    void exceptionFromOnCompleteResponseGoesToOnErrorAndOneFromOnErrorIsIgnored() throws Exception {
        Recorder rec = new Recorder();
        StringBuilder streamed = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        CompletableFuture<Throwable> error = new CompletableFuture<>();
        RuntimeException boom = new RuntimeException("user code");
        model(rec).chat("你好", new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String partial) {
                streamed.append(partial);
            }

            @Override
            public void onCompleteResponse(ChatResponse r) {
                done.complete(r);
                throw boom;
            }

            @Override
            public void onError(Throwable t) {
                error.complete(t);
                throw new RuntimeException("ignored");
            }
        });
        assertThat(done.get(30, SECONDS).aiMessage().text()).isEqualTo(streamed.toString());
        assertThat(error.get(30, SECONDS)).isSameAs(boom);
        assertThat(rec.calls).containsExactly("request", "response", "error");
    }
}
