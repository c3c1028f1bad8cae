package org.chatglm4j.chat;

import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.util.List;

/**
 * What front ends (CLI, HTTP server, web page) need from a loaded model. {@link ChatGLM} runs one reply at a
 * time; a batching engine can decode many concurrent replies together behind the same interface.
 */
public interface ChatEngine {

    /**
     * Generates a reply, blocking the calling thread until it is complete, cancelled or failed; the listener (if
     * any) is called after every token, possibly on another thread.
     *
     * @throws org.chatglm4j.ChatGlmException for a request that cannot be served (e.g. a query too long for
     *                                        {@code max_length})
     */
    ChatResponse streamChat(String query, List<Round> history, GenerationConfig config, ChatListener listener,
                            Cancellation cancellation);

    ChatGlmTokenizer tokenizer();

    /** Whether the engine can serve requests now (a batching engine whose steps keep failing cannot). */
    default boolean healthy() {
        return true;
    }

    org.chatglm4j.model.ChatGlmConfig config();
}
