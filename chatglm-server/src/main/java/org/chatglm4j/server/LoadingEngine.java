package org.chatglm4j.server;

import org.chatglm4j.chat.ChatEngine;
import org.chatglm4j.chat.ChatListener;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.util.List;

/**
 * An engine that is still loading: the server starts listening at once (so that {@code /health} can say
 * "loading" with a 503, as llama.cpp's server does, and a Kubernetes startup probe waits) and the model arrives
 * later through {@link #ready}. Until then every request that needs the model is answered 503 with Retry-After.
 *
 * <pre>{@code
 * LoadingEngine engine = new LoadingEngine();
 * try (ChatServer server = ChatServer.start(options, engine)) {
 *     engine.ready(new BatchingEngine(ChatGLM.load(dir), 8, 32));
 *     server.join();
 * }
 * }</pre>
 */
public final class LoadingEngine implements ChatEngine {
    private volatile ChatEngine engine;

    /** Hands over the loaded engine; requests reach it from now on. */
    public void ready(ChatEngine loaded) {
        if (loaded == null) throw new IllegalArgumentException("the loaded engine is required");
        this.engine = loaded;
    }

    /** Whether the model is loaded. */
    public boolean isReady() {
        return engine != null;
    }

    /** The engine behind {@code e}: the loaded one for a ready LoadingEngine, null while it loads, else e. */
    static ChatEngine unwrap(ChatEngine e) {
        return e instanceof LoadingEngine l ? l.engine : e;
    }

    private ChatEngine loaded() {
        ChatEngine e = engine;
        if (e == null) throw ApiError.busy(503, "the model is still loading");
        return e;
    }

    @Override
    public ChatResponse streamChat(String query, List<Round> history, GenerationConfig config, ChatListener listener,
                                   Cancellation cancellation) {
        return loaded().streamChat(query, history, config, listener, cancellation);
    }

    @Override
    public ChatGlmTokenizer tokenizer() {
        return loaded().tokenizer();
    }

    @Override
    public ChatGlmConfig config() {
        return loaded().config();
    }
}
