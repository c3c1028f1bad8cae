package org.chatglm4j.cli;

import org.chatglm4j.chat.ChatEngine;
import org.chatglm4j.chat.ChatListener;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.ConversationResponse;
import org.chatglm4j.chat.Glm3ChatFormat;
import org.chatglm4j.chat.Message;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;

import java.util.List;

/**
 * One conversation: the history so far, carried from reply to reply, whatever the front end. ChatGLM-6B and
 * ChatGLM2-6B keep (query, response) rounds; ChatGLM3-6B keeps its messages with roles.
 */
final class ChatSession {
    private final ChatEngine engine;
    private List<Round> history = List.of();
    private List<Message> messages = List.of();

    ChatSession(ChatEngine engine) {
        this.engine = engine;
    }

    /** Whether the model speaks in messages with roles (ChatGLM3). */
    boolean usesMessages() {
        return engine.chatTemplate() instanceof Glm3ChatFormat;
    }

    /**
     * Answers {@code query}, streaming deltas to {@code listener} (may be null); the round joins the history. A
     * ChatGLM3 tool call is not streamed: the listener gets it as JSON at the end.
     */
    ChatResponse reply(String query, GenerationConfig config, ChatListener listener, Cancellation cancellation) {
        if (!usesMessages()) return reply(query, history, config, listener, cancellation);
        ConversationResponse r = reply(messages, Message.user(query), config, listener, cancellation);
        String text = r.reply().isText() ? r.reply().content() : r.reply().toJson().toString();
        if (!r.reply().isText() && listener != null) listener.onUpdate(text, text);
        return new ChatResponse(text, List.of(), r.finishReason(), r.promptTokens(), r.completionTokens(),
                droppedRounds(r), r.generation());
    }

    /**
     * Answers {@code query} as the next round of {@code past} (which replaces the conversation, but only once the
     * reply succeeded: a failed request leaves the session as it was).
     */
    ChatResponse reply(String query, List<Round> past, GenerationConfig config, ChatListener listener,
                       Cancellation cancellation) {
        ChatResponse r = engine.streamChat(query, past, config, listener, cancellation);
        history = r.history();
        return r;
    }

    /** The next message of the conversation {@code past} (ChatGLM3), replacing the conversation once it succeeded. */
    ConversationResponse reply(List<Message> past, Message message, GenerationConfig config, ChatListener listener,
                               Cancellation cancellation) {
        ConversationResponse r = engine.streamChat(past, message, config, listener, cancellation);
        messages = r.history();
        return r;
    }

    List<Round> history() {
        return history;
    }

    List<Message> messages() {
        return messages;
    }

    void clear() {
        history = List.of();
        messages = List.of();
    }

    /** ChatGLM3 leaves out whole exchanges; reported like rounds (two messages each, at least one). */
    private static int droppedRounds(ConversationResponse r) {
        return r.droppedMessages() == 0 ? 0 : Math.max(1, r.droppedMessages() / 2);
    }

    /** What to tell the user (on stderr) about a reply, or null: rounds left out of the prompt. */
    static String droppedNote(ChatResponse r, GenerationConfig config) {
        return droppedNote(r.droppedRounds(), config);
    }

    static String droppedNote(int n, GenerationConfig config) {
        if (n == 0) return null;
        return "note: the " + (n == 1 ? "oldest round" : n + " oldest rounds") + " of the conversation no longer "
                + "fit in max_length " + config.maxLength() + " and " + (n == 1 ? "was" : "were")
                + " left out of the prompt";
    }
}
