package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.Round;

import java.util.ArrayList;
import java.util.List;

/**
 * An OpenAI {@code messages} list as ChatGLM sees a conversation: past rounds and the query to answer.
 *
 * <p>Mapping (documented in docs/server.md): system (and developer) messages, joined with newlines, are put in
 * front of the first user query of the prompt, separated by a newline; each user message followed by an
 * assistant message is one history round; user messages in a row are joined with newlines; an assistant message
 * with no user message before it is paired with an empty query; the last message must come from the user and is
 * the query. Content is a string or a list of {@code {"type":"text","text":...}} parts, joined with newlines.
 */
record Conversation(String query, List<Round> history) {

    static Conversation fromMessages(JsonNode messages) {
        if (messages == null || messages.isNull()) throw ApiError.badRequest("messages", "messages is required");
        if (!messages.isArray()) {
            throw ApiError.badRequest("messages", "messages must be an array, got " + JsonArgs.kind(messages));
        }
        if (messages.isEmpty()) throw ApiError.badRequest("messages", "messages must not be empty");
        StringBuilder system = null;
        List<Round> rounds = new ArrayList<>();
        String pendingUser = null;
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) throw ApiError.badRequest(where, where + " must be an object, got " + JsonArgs.kind(m));
            JsonNode roleNode = m.get("role");
            if (roleNode == null || !roleNode.isTextual()) {
                throw ApiError.badRequest(where + ".role", where + ".role must be a string");
            }
            String role = roleNode.textValue();
            switch (role) {
                case "system", "developer" -> {
                    String text = content(m, where, false);
                    system = system == null ? new StringBuilder(text) : system.append('\n').append(text);
                }
                case "user" -> {
                    String text = content(m, where, false);
                    pendingUser = pendingUser == null ? text : pendingUser + "\n" + text;
                }
                case "assistant" -> {
                    String text = content(m, where, true);
                    rounds.add(new Round(pendingUser == null ? "" : pendingUser, text));
                    pendingUser = null;
                }
                default -> throw ApiError.badRequest(where + ".role", "unsupported role '" + role
                        + "' in " + where + " (use system, user or assistant)");
            }
        }
        if (pendingUser == null) {
            throw ApiError.badRequest("messages", "the last message must come from the user");
        }
        String query = pendingUser;
        if (system != null) {
            if (rounds.isEmpty()) {
                query = system + "\n" + query;
            } else {
                Round first = rounds.getFirst();
                rounds.set(0, new Round(system + "\n" + first.query(), first.response()));
            }
        }
        return new Conversation(query, List.copyOf(rounds));
    }

    private static String content(JsonNode m, String where, boolean nullable) {
        JsonNode c = m.get("content");
        String param = where + ".content";
        if (c == null || c.isNull()) {
            if (nullable) return "";
            throw ApiError.badRequest(param, param + " is required");
        }
        if (c.isTextual()) return c.textValue();
        if (!c.isArray()) {
            throw ApiError.badRequest(param, param + " must be a string or a list of text parts, got " + JsonArgs.kind(c));
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < c.size(); i++) {
            JsonNode part = c.get(i);
            String p = param + "[" + i + "]";
            if (!part.isObject()) throw ApiError.badRequest(p, p + " must be an object");
            JsonNode type = part.get("type");
            if (type == null || !type.isTextual() || !type.textValue().equals("text")) {
                throw ApiError.badRequest(p + ".type", "only text content parts are supported, " + p + ".type is "
                        + (type != null && type.isTextual() ? "'" + type.textValue() + "'" : JsonArgs.kind(type)));
            }
            JsonNode text = part.get("text");
            if (text == null || !text.isTextual()) throw ApiError.badRequest(p + ".text", p + ".text must be a string");
            if (i > 0) sb.append('\n');
            sb.append(text.textValue());
        }
        return sb.toString();
    }
}
