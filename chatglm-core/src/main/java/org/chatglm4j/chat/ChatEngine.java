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

    /**
     * A reply to a conversation of messages with roles (ChatGLM3's {@code chat(query, history, role)}: the new
     * message is {@code message}). ChatGLM-6B and ChatGLM2-6B take alternating user and assistant messages only.
     * An engine that implements only the rounds API serves such conversations through it.
     */
    default ConversationResponse streamChat(List<Message> history, Message message, GenerationConfig config,
                                            ChatListener listener, Cancellation cancellation) {
        List<Message> past = history == null ? List.of() : history;
        ChatResponse r = streamChat(message.content(), Rounds.fromMessages(past, message, chatTemplate().name()), config,
                listener, cancellation);
        List<Message> all = ChatTurns.withTurn(past, message);
        all.add(Message.assistant(null, r.response()));
        return new ConversationResponse(AssistantReply.text(r.response()), List.copyOf(all), r.finishReason(),
                r.promptTokens(), r.completionTokens(), 2 * r.droppedRounds(), r.generation());
    }

    /** The tokenizer as the chat template uses it. */
    default PromptTokenizer promptTokenizer() {
        return PromptTokenizer.of(tokenizer());
    }

    /** Tokens of the whole prompt for {@code history} and {@code message}, before any history is left out. */
    default int promptLength(List<Message> history, Message message) {
        return chatTemplate().prepare(promptTokenizer(), history, message, GenerationConfig.greedy(Integer.MAX_VALUE))
                .ids().length;
    }

    /** The chat template of the loaded model. */
    default ChatFormat chatTemplate() {
        return Glm1ChatFormat.INSTANCE;
    }

    /** The tokenizer of the model behind this engine. */
    ChatGlmTokenizer tokenizer();

    /** Whether the engine can serve requests now (a batching engine whose steps keep failing cannot). */
    default boolean healthy() {
        return true;
    }

    /** The configuration of the model behind this engine. */
    org.chatglm4j.model.ChatGlmConfig config();
}
