package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One message of a ChatGLM3 conversation, as the reference's history holds it: {@code {"role", "content"}}, an
 * assistant reply with its {@code "metadata"} (the tool name of a tool call, else empty), a system message with
 * the {@code "tools"} the model may call (any JSON, written into the prompt as {@code json.dumps(tools, indent=4)}).
 *
 * @param metadata null when the message has none (then it is encoded as the empty string)
 * @param tools    null when the message has none
 */
public record Message(Role role, String content, String metadata, JsonNode tools) {
    /** Requires a role and a content (which may be empty). */
    public Message {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    /** A system message without tools. */
    public static Message system(String content) {
        return new Message(Role.SYSTEM, content, null, null);
    }

    /** A system message that offers tools: the reference's {@code {"role": "system", "content": …, "tools": […]}}. */
    public static Message system(String content, JsonNode tools) {
        return new Message(Role.SYSTEM, content, null, tools);
    }

    /** A user message. */
    public static Message user(String content) {
        return new Message(Role.USER, content, null, null);
    }

    /** An observation: the result of a tool call, fed back to the model. */
    public static Message observation(String content) {
        return new Message(Role.OBSERVATION, content, null, null);
    }

    /** An assistant message; {@code metadata} is the tool name of a tool call, else empty or null. */
    public static Message assistant(String metadata, String content) {
        return new Message(Role.ASSISTANT, content, metadata, null);
    }

    /** The reference's dict, keys in its order: role, metadata, content, tools (absent ones left out). */
    public ObjectNode toJson() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("role", role.wireName());
        if (metadata != null) o.put("metadata", metadata);
        o.put("content", content);
        if (tools != null) o.set("tools", tools);
        return o;
    }

    /** Reads a reference history dict; other keys are ignored, as build_chat_input ignores them. */
    public static Message fromJson(JsonNode n) {
        if (n == null || !n.isObject()) throw new ChatGlmException("a history message must be a JSON object");
        JsonNode role = n.get("role"), content = n.get("content"), metadata = n.get("metadata");
        if (role == null || !role.isTextual()) throw new ChatGlmException("a history message needs a \"role\" string");
        if (content == null || !content.isTextual()) {
            throw new ChatGlmException("a history message needs a \"content\" string");
        }
        if (metadata != null && !metadata.isTextual()) throw new ChatGlmException("\"metadata\" must be a string");
        JsonNode tools = n.get("tools");
        return new Message(Role.parse(role.asText()), content.asText(), metadata == null ? null : metadata.asText(),
                tools == null || tools.isNull() ? null : tools);
    }

    /** ChatGLM-6B / ChatGLM2-6B rounds as messages: user, assistant, user, assistant, … */
    public static List<Message> fromRounds(List<Round> rounds) {
        return Rounds.toMessages(rounds);
    }

    /**
     * Reads a reference history: a JSON array of message dicts ({@link #fromJson}); throws {@link ChatGlmException}
     * on anything else.
     */
    public static List<Message> listFromJson(JsonNode array) {
        if (array == null || !array.isArray()) throw new ChatGlmException("a history must be a JSON array of messages");
        List<Message> out = new ArrayList<>(array.size());
        for (JsonNode n : array) out.add(fromJson(n));
        return out;
    }
}
