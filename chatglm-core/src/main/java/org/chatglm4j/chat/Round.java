package org.chatglm4j.chat;

import java.util.Objects;

/** One past exchange of a conversation: the user's query and the model's response. */
public record Round(String query, String response) {
    /** Both parts are required (use an empty string for none). */
    public Round {
        Objects.requireNonNull(query, "query");
        Objects.requireNonNull(response, "response");
    }
}
