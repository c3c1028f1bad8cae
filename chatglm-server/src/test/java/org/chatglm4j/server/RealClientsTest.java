package org.chatglm4j.server;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.output.FinishReason;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.GenerationConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The official openai-java SDK and LangChain4j's OpenAI module, pointed at our base URL, get the reply chat()
 * gives for the same conversation, streaming and not.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RealClientsTest {
    private static final String KEY = "test-key";
    private ChatServer server;
    private String baseUrl;
    private ChatResponse expected;
    private final List<Round> history = List.of(new Round("You are a helpful assistant.\nHello", "Hi! How can I help?"));

    @BeforeAll
    void start() throws IOException {
        server = ChatServer.start(ServerOptions.defaults().withPort(0).withApiKey(KEY).withModelName("chatglm-6b"), Fixture.model());
        baseUrl = server.uri() + "v1";
        // the system message goes in front of the first user query (see docs/server.md)
        expected = Fixture.model().chat("Tell me about Java", history, GenerationConfig.greedy(2048).withMaxNewTokens(24));
    }

    @AfterAll
    void stop() {
        server.close();
    }

    private OpenAIClient openAi() {
        return OpenAIOkHttpClient.builder().baseUrl(baseUrl).apiKey(KEY).maxRetries(0).build();
    }

    private ChatCompletionCreateParams.Builder params() {
        return ChatCompletionCreateParams.builder().model("chatglm-6b")
                .addSystemMessage("You are a helpful assistant.")
                .addUserMessage("Hello")
                .addAssistantMessage("Hi! How can I help?")
                .addUserMessage("Tell me about Java")
                .temperature(0.0)
                .maxCompletionTokens(24);
    }

    @Test
    void openAiJavaSdk() {
        OpenAIClient client = openAi();
        ChatCompletion c = client.chat().completions().create(params().build());
        assertThat(c.choices()).hasSize(1);
        assertThat(c.choices().getFirst().message().content()).contains(expected.response());
        assertThat(c.choices().getFirst().finishReason().asString()).isEqualTo(
                expected.finishReason() == org.chatglm4j.generate.FinishReason.LENGTH ? "length" : "stop");
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(expected.promptTokens());
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(expected.completionTokens());
        assertThat(c.model()).isEqualTo("chatglm-6b");
        assertThat(client.models().list().data().getFirst().id()).isEqualTo("chatglm-6b");
    }

    @Test
    void openAiJavaSdkStreaming() {
        StringBuilder text = new StringBuilder();
        String[] finish = {null};
        long[] usage = {-1};
        int[] chunks = {0};
        ChatCompletionCreateParams p = params().streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        try (StreamResponse<ChatCompletionChunk> stream = openAi().chat().completions().createStreaming(p)) {
            stream.stream().forEach(chunk -> {
                chunks[0]++;
                for (ChatCompletionChunk.Choice choice : chunk.choices()) {
                    choice.delta().content().ifPresent(text::append);
                    choice.finishReason().ifPresent(f -> finish[0] = f.asString());
                }
                chunk.usage().ifPresent(u -> usage[0] = u.completionTokens());
            });
        }
        assertThat(text.toString()).isEqualTo(expected.response());
        assertThat(finish[0]).isIn("stop", "length");
        assertThat(usage[0]).isEqualTo(expected.completionTokens());
        assertThat(chunks[0]).isGreaterThan(3);
    }

    @Test
    void openAiJavaSdkErrors() {
        assertThatThrownBy(() -> openAi().chat().completions().create(params().n(3).build()))
                .isInstanceOf(BadRequestException.class).hasMessageContaining("only n = 1");
        OpenAIClient wrongKey = OpenAIOkHttpClient.builder().baseUrl(baseUrl).apiKey("nope").maxRetries(0).build();
        assertThatThrownBy(() -> wrongKey.chat().completions().create(params().build()))
                .isInstanceOf(UnauthorizedException.class);
    }

    @Test
    void langChain4j() {
        OpenAiChatModel model = OpenAiChatModel.builder().baseUrl(baseUrl).apiKey(KEY).modelName("chatglm-6b")
                .temperature(0.0).maxCompletionTokens(24).timeout(Duration.ofSeconds(60)).maxRetries(0).build();
        dev.langchain4j.model.chat.response.ChatResponse r = model.chat(List.of(
                SystemMessage.from("You are a helpful assistant."), UserMessage.from("Hello"),
                AiMessage.from("Hi! How can I help?"), UserMessage.from("Tell me about Java")));
        assertThat(r.aiMessage().text()).isEqualTo(expected.response());
        assertThat(r.finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
        assertThat(r.tokenUsage().inputTokenCount()).isEqualTo(expected.promptTokens());
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(expected.completionTokens());
    }

    @Test
    void langChain4jStreaming() throws Exception {
        OpenAiStreamingChatModel model = OpenAiStreamingChatModel.builder().baseUrl(baseUrl).apiKey(KEY)
                .modelName("chatglm-6b").temperature(0.0).maxCompletionTokens(24).timeout(Duration.ofSeconds(60)).build();
        StringBuilder partial = new StringBuilder();
        CompletableFuture<dev.langchain4j.model.chat.response.ChatResponse> done = new CompletableFuture<>();
        model.chat(List.of(SystemMessage.from("You are a helpful assistant."), UserMessage.from("Hello"),
                AiMessage.from("Hi! How can I help?"), UserMessage.from("Tell me about Java")), new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String text) {
                partial.append(text);
            }

            @Override
            public void onCompleteResponse(dev.langchain4j.model.chat.response.ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        dev.langchain4j.model.chat.response.ChatResponse r = done.get(60, TimeUnit.SECONDS);
        assertThat(partial.toString()).isEqualTo(expected.response());
        assertThat(r.aiMessage().text()).isEqualTo(expected.response());
        assertThat(r.finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
    }
}
