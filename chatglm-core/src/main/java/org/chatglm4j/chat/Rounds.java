package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;

import java.util.ArrayList;
import java.util.List;

/** Conversions between the (query, response) rounds of v1/v2 and messages. */
final class Rounds {
    private Rounds() {
    }

    static List<Message> toMessages(List<Round> rounds) {
        List<Message> out = new ArrayList<>(2 * rounds.size());
        for (Round r : rounds) {
            out.add(Message.user(r.query()));
            out.add(Message.assistant(null, r.response()));
        }
        return out;
    }

    /** The rounds of a v1/v2 conversation: alternating user and assistant messages, nothing else. */
    static List<Round> fromMessages(List<Message> history, Message turn, String format) {
        if (turn.role() != Role.USER) throw noRoles(format, turn.role());
        if (history.size() % 2 != 0) {
            throw new ChatGlmException(format + " history must be (user, assistant) pairs; got "
                    + history.size() + " messages");
        }
        List<Round> out = new ArrayList<>(history.size() / 2);
        for (int i = 0; i < history.size(); i += 2) {
            Message q = history.get(i), a = history.get(i + 1);
            if (q.role() != Role.USER) throw noRoles(format, q.role());
            if (a.role() != Role.ASSISTANT) throw noRoles(format, a.role());
            out.add(new Round(q.content(), a.content()));
        }
        return out;
    }

    private static ChatGlmException noRoles(String format, Role role) {
        return new ChatGlmException(format + " chats alternate user and assistant turns (a query, a response);"
                + " a " + role.wireName() + " message needs the glm3 chat format");
    }
}
