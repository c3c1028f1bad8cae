package org.chatglm4j.langchain4j;

import dev.langchain4j.model.ModelProvider;
import dev.langchain4j.model.chat.Capability;
import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.PartialResponse;
import dev.langchain4j.model.chat.response.PartialResponseContext;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.chat.response.StreamingHandle;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;

import java.util.List;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A LangChain4j {@link StreamingChatModel} running ChatGLM-6B in this JVM: text arrives token by token as it is
 * generated. Each reply streams on a thread of its own (every callback of one reply comes from that thread);
 * {@link StreamingHandle#cancel()} stops generation at the next token. An exception thrown by the handler's
 * {@code onPartialResponse} or {@code onCompleteResponse} is passed to its {@code onError}; generation goes on.
 * Requests for what ChatGLM-6B cannot do (tools, JSON mode, images) fail at once, on the calling thread.
 */
public final class ChatGlmStreamingChatModel implements StreamingChatModel, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ChatGlmStreamingChatModel.class.getName());

    private final ChatGlmRuntime runtime;
    private final boolean ownsRuntime;
    private final ChatGlmChatRequestParameters defaults;
    private final List<ChatModelListener> listeners;

    private ChatGlmStreamingChatModel(ChatGlmModelBuilder.Settings s) {
        this.runtime = s.runtime();
        this.ownsRuntime = s.ownsRuntime();
        this.defaults = s.defaults();
        this.listeners = s.listeners();
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void doChat(ChatRequest request, StreamingChatResponseHandler handler) {
        ChatRequestParameters p = request.parameters();
        ChatGlmRequests.checkSupported(p, runtime.modelName());
        ChatGlmRequests.Conversation c = ChatGlmRequests.conversation(request.messages());
        GenerationConfig config = ChatGlmRequests.generationConfig(p, runtime.contextLength());
        Cancellation cancellation = new Cancellation();
        StreamingHandle handle = new StreamingHandle() {
            @Override
            public void cancel() {
                cancellation.cancel();
            }

            @Override
            public boolean isCancelled() {
                return cancellation.isCancelled();
            }
        };
        PartialResponseContext context = new PartialResponseContext(handle);
        Thread.ofVirtual().name("chatglm-stream").start(() -> {
            ChatResponse reply;
            try {
                reply = runtime.chat(c.query(), c.history(), config, (delta, soFar) -> {
                    if (delta.isEmpty() || cancellation.isCancelled()) return;
                    try {
                        handler.onPartialResponse(new PartialResponse(delta), context);
                    } catch (Exception e) {
                        onError(handler, e);
                    }
                }, cancellation);
            } catch (Exception e) {
                onError(handler, e);
                return;
            }
            if (cancellation.isCancelled()) return;   // a cancelled stream ends without a response
            try {
                handler.onCompleteResponse(ChatGlmRequests.response(reply, runtime.modelName()));
            } catch (Exception e) {
                onError(handler, e);
            }
        });
    }

    private static void onError(StreamingChatResponseHandler handler, Throwable error) {
        try {
            handler.onError(error);
        } catch (Exception e) {
            LOG.log(Level.WARNING, "a StreamingChatResponseHandler's onError failed", e);
        }
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

    /** Builds a {@link ChatGlmStreamingChatModel}; see {@link ChatGlmModelBuilder} for the settings. */
    public static final class Builder extends ChatGlmModelBuilder<Builder> {
        private Builder() {
        }

        public ChatGlmStreamingChatModel build() {
            return new ChatGlmStreamingChatModel(settings());
        }
    }
}
