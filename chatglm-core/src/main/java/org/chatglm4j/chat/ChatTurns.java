package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;

import java.util.ArrayList;
import java.util.List;

/** The (query, rounds) chat API on top of the message API, for every chat format. */
final class ChatTurns {
    private ChatTurns() {
    }

    static ChatResponse viaMessages(ChatEngine engine, String query, List<Round> history, GenerationConfig config,
                                    ChatListener listener, Cancellation cancellation) {
        if (query == null) throw new ChatGlmException("the query is missing");
        List<Round> past = history == null ? List.of() : List.copyOf(history);
        ConversationResponse r = engine.streamChat(Rounds.toMessages(past), Message.user(query), config, listener,
                cancellation);
        String text = r.reply().isText() ? r.reply().content() : r.reply().toJson().toString();
        List<Round> rounds = new ArrayList<>(past.size() + 1);
        rounds.addAll(past);
        rounds.add(new Round(query, text));
        return new ChatResponse(text, List.copyOf(rounds), r.finishReason(), r.promptTokens(), r.completionTokens(),
                r.droppedMessages() / 2, r.generation());
    }

    /** The history process_response sees: the given one plus the new message. */
    static List<Message> withTurn(List<Message> history, Message turn) {
        if (turn == null) throw new ChatGlmException("the message is missing");
        List<Message> out = new ArrayList<>(history == null ? 1 : history.size() + 1);
        if (history != null) out.addAll(history);
        out.add(turn);
        return out;
    }
}
