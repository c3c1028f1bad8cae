package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
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
        if (total > limits.maxChars()) {
            throw ApiError.badRequest("messages", "request_too_long", "the request's texts are " + total
                    + " characters long; at most " + limits.maxChars() + " are accepted");
        }
    }
}
