package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.Message;
import org.chatglm4j.chat.Round;

import java.util.List;

/**
 * The per-request limits of {@link ServerLimits}, checked on the parsed JSON before any tokenizing or model work:
 * a request of 100,000 empty history rounds is refused for what it is, not after the work it would cause.
 */
final class RequestBudget {
    private RequestBudget() {
    }

    /** 400 when a list (messages, history) has more entries than allowed. */
    static void entries(JsonNode list, String param, ServerLimits limits) {
        if (list != null && list.isArray() && list.size() > limits.maxMessages()) {
            throw ApiError.badRequest(param, "too_many_messages", param + " has " + list.size()
                    + " entries; at most " + limits.maxMessages() + " are accepted");
        }
    }

    /** 400 when the texts of a request are longer together than allowed. */
    static void chars(ServerLimits limits, String query, List<Round> history, List<String> stop) {
        long total = query.length();
        for (Round r : history) total += r.query().length() + r.response().length();
        for (String s : stop) total += s.length();
        check(limits, total);
    }

    /** The same limit over a conversation of messages with roles (ChatGLM3), tools counted as their JSON text. */
    static void chars(ServerLimits limits, List<Message> history, Message message, List<String> stop) {
        long total = 0;
        for (Message m : history) total += length(m);
        total += length(message);
        for (String s : stop) total += s.length();
        check(limits, total);
    }

    private static long length(Message m) {
        return (m.content() == null ? 0 : m.content().length()) + (m.metadata() == null ? 0 : m.metadata().length())
                + (m.tools() == null ? 0 : m.tools().toString().length());
    }

    private static void check(ServerLimits limits, long total) {
        if (total > limits.maxChars()) {
            throw ApiError.badRequest("messages", "request_too_long", "the request's texts are " + total
                    + " characters long; at most " + limits.maxChars() + " are accepted");
        }
    }
}
