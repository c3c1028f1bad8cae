package org.chatglm4j.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponse;
import org.chatglm4j.generate.GenerationConfig;

import java.util.List;
import java.util.Set;

/**
 * A LangChain4j {@link ChatModel} running ChatGLM-6B in this JVM (no server).
 *
 * <pre>{@code
 * ChatGlmChatModel model = ChatGlmChatModel.builder()
 *         .modelId("THUDM/chatglm-6b").quantization(QuantFormat.Q4)
 *         .temperature(0.0).maxOutputTokens(256)
 *         .build();
 * String answer = model.chat("你好");
 * }</pre>
 *
 * Only {@link #doChat} is implemented, so LangChain4j's {@code chat} methods merge the default parameters and
 * notify the listeners. Thread-safe: chats from several threads are decoded together by the runtime's batching
 * engine. Close it to free a model it loaded itself (a shared {@link ChatGlmRuntime} stays open).
 */
public final class ChatGlmChatModel implements ChatModel, AutoCloseable {
    private final ChatGlmRuntime runtime;
    private final boolean ownsRuntime;
    private final ChatGlmChatRequestParameters defaults;
    private final List<ChatModelListener> listeners;

    private ChatGlmChatModel(ChatGlmModelBuilder.Settings s) {
        this.runtime = s.runtime();
        this.ownsRuntime = s.ownsRuntime();
        this.defaults = s.defaults();
        this.listeners = s.listeners();
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public ChatResponse doChat(ChatRequest request) {
        ChatRequestParameters p = request.parameters();
        ChatGlmRequests.checkSupported(p, runtime.modelName());
        ChatGlmRequests.Conversation c = ChatGlmRequests.conversation(request.messages());
        GenerationConfig config = ChatGlmRequests.generationConfig(p, runtime.contextLength());
        return ChatGlmRequests.response(runtime.chat(c.query(), c.history(), config, null, null), runtime.modelName());
    }

    @Override
    public ChatGlmChatRequestParameters defaultRequestParameters() {
        return defaults;
    }

    @Override
    public List<ChatModelListener> listeners() {
        return listeners;
    }

    @Override
    public ModelProvider provider() {
        return ModelProvider.OTHER;   // LangChain4j 1.19 has no constant for in-process ChatGLM
    }

    /** None: ChatGLM-6B has no JSON-schema constrained output. */
    @Override
    public Set<Capability> supportedCapabilities() {
        return Set.of();
    }

    /** The loaded model this chat model uses. */
    public ChatGlmRuntime runtime() {
        return runtime;
    }

    @Override
    public void close() {
        if (ownsRuntime) runtime.close();
    }

    /** Builds a {@link ChatGlmChatModel}; see {@link ChatGlmModelBuilder} for the settings. */
    public static final class Builder extends ChatGlmModelBuilder<Builder> {
        private Builder() {
        }

        public ChatGlmChatModel build() {
            return new ChatGlmChatModel(settings());
        }
    }
}
