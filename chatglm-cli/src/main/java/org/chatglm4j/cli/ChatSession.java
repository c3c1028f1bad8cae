package org.chatglm4j.cli;

import org.chatglm4j.chat.ChatEngine;
import org.chatglm4j.chat.ChatListener;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;

import java.util.List;

/** One conversation: the history so far, carried from reply to reply, whatever the front end. */
final class ChatSession {
    private final ChatEngine engine;
    private List<Round> history = List.of();

    ChatSession(ChatEngine engine) {
        this.engine = engine;
    }

    /** Answers {@code query}, streaming deltas to {@code listener} (may be null); the round joins the history. */
    ChatResponse reply(String query, GenerationConfig config, ChatListener listener, Cancellation cancellation) {
        return reply(query, history, config, listener, cancellation);
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

    List<Round> history() {
        return history;
    }

    void clear() {
        history = List.of();
    }

    /** What to tell the user (on stderr) about a reply, or null: rounds left out of the prompt. */
    static String droppedNote(ChatResponse r, GenerationConfig config) {
        int n = r.droppedRounds();
        if (n == 0) return null;
        return "note: the " + (n == 1 ? "oldest round" : n + " oldest rounds") + " of the conversation no longer "
                + "fit in max_length " + config.maxLength() + " and " + (n == 1 ? "was" : "were")
                + " left out of the prompt";
    }
}
