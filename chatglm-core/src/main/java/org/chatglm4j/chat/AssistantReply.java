package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

/**
 * What ChatGLM3's {@code process_response} returns: the reply text, or, when the model wrote a tool name before
 * its reply, {@code {"name", "parameters"}} (a tool call, if the conversation offered tools) or
 * {@code {"name", "content"}} (otherwise, e.g. the code interpreter).
 *
 * @param name       the tool name (the stripped metadata), null for a plain reply
 * @param content    the reply text; for a named reply without parameters its unstripped content
 * @param parameters the arguments of {@code tool_call(...)} as a JSON object, null unless this is a tool call
 */
public record AssistantReply(String content, String name, JsonNode parameters) {

    /** A plain reply: {@code content} with no tool name. */
    public static AssistantReply text(String content) {
        return new AssistantReply(content, null, null);
    }

    /** Whether this is a plain reply (no tool name). */
    public boolean isText() {
        return name == null;
    }

    /** Whether this is a tool call with parsed {@link #parameters()}. */
    public boolean isToolCall() {
        return parameters != null;
    }

    /** The reference's return value: a string, {@code {"name","parameters"}} or {@code {"name","content"}}. */
    public JsonNode toJson() {
        if (name == null) return TextNode.valueOf(content);
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("name", name);
        if (parameters != null) o.set("parameters", parameters);
        else o.put("content", content);
        return o;
    }
}
