package org.chatglm4j.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.chat.AssistantReply;
import org.chatglm4j.chat.Message;
import org.chatglm4j.chat.Role;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * OpenAI chat messages and tools as a ChatGLM3 conversation, and a ChatGLM3 tool call as OpenAI {@code tool_calls}.
 *
 * <p>In, as ChatGLM3's {@code openai_api_demo} does it: when tools are offered, the conversation starts with the
 * system message {@value #TOOLS_PROMPT} carrying the request's {@code tools} list as given, and the client's own
 * first system message is left out; {@code tool_choice: "none"} offers no tools, {@code {"type": "function",
 * "function": {"name": …}}} offers only that one, {@code "auto"} / {@code "required"} all of them. Other system
 * messages, user messages and plain assistant messages keep their role; a {@code tool} (or legacy
 * {@code function}) message is an {@code observation}; an assistant message with {@code tool_calls} becomes one
 * assistant message per call with the tool name as metadata and the call written the way ChatGLM3 writes it
 * ({@code ```python\ntool_call(city='北京')\n```}). The last message must be a user or tool message: it is the
 * new turn, with role user or observation.
 *
 * <p>Out: a reply {@code {"name", "parameters"}} is one {@code tool_calls} entry whose {@code arguments} are the
 * parameters as a JSON string, with {@code finish_reason: "tool_calls"}; any other reply is text.
 */
final class ToolCalling {
    static final String TOOLS_PROMPT =
            "Answer the following questions as best as you can. You have access to the following tools:";
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The conversation before the new turn, and the turn. */
    record Turn(List<Message> history, Message message, List<String> toolNames) {
    }

    private ToolCalling() {
    }

    static Turn fromRequest(JsonNode body) {
        JsonNode tools = offeredTools(body.get("tools"), body.get("tool_choice"));
        JsonNode messages = body.get("messages");
        if (messages == null || messages.isNull()) throw ApiError.badRequest("messages", "messages is required");
        if (!messages.isArray()) {
            throw ApiError.badRequest("messages", "messages must be an array, got " + JsonArgs.kind(messages));
        }
        if (messages.isEmpty()) throw ApiError.badRequest("messages", "messages must not be empty");
        List<Message> out = new ArrayList<>();
        List<String> names = new ArrayList<>();
        boolean skipSystem = false;
        if (tools != null) {
            out.add(Message.system(TOOLS_PROMPT, tools));
            for (JsonNode t : tools) names.add(t.path("function").path("name").asText(""));
            skipSystem = true;
        }
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) throw ApiError.badRequest(where, where + " must be an object, got " + JsonArgs.kind(m));
            JsonNode roleNode = m.get("role");
            if (roleNode == null || !roleNode.isTextual()) {
                throw ApiError.badRequest(where + ".role", where + ".role must be a string");
            }
            switch (roleNode.textValue()) {
                case "system", "developer" -> {
                    if (skipSystem) skipSystem = false;
                    else out.add(Message.system(text(m, where, false)));
                }
                case "user" -> out.add(Message.user(text(m, where, false)));
                case "tool", "function" -> out.add(Message.observation(text(m, where, false)));
                case "assistant" -> {
                    JsonNode calls = m.get("tool_calls");
                    String content = text(m, where, true);
                    if (calls == null || calls.isNull() || calls.isEmpty()) {
                        out.add(Message.assistant("", content));
                        continue;
                    }
                    if (!calls.isArray()) throw ApiError.badRequest(where + ".tool_calls", where + ".tool_calls must be an array");
                    if (!content.isEmpty()) out.add(Message.assistant("", content));
                    for (int k = 0; k < calls.size(); k++) out.add(toolCallMessage(calls.get(k), where + ".tool_calls[" + k + "]"));
                }
                default -> throw ApiError.badRequest(where + ".role", "unsupported role '" + roleNode.textValue()
                        + "' in " + where + " (use system, user, assistant or tool)");
            }
        }
        Message last = out.getLast();
        if (out.size() == (tools != null ? 1 : 0) || (last.role() != Role.USER && last.role() != Role.OBSERVATION)) {
            throw ApiError.badRequest("messages", "the last message must come from the user or a tool");
        }
        return new Turn(List.copyOf(out.subList(0, out.size() - 1)), last, List.copyOf(names));
    }

    /** The tools the model is offered, or null for none. */
    private static JsonNode offeredTools(JsonNode tools, JsonNode choice) {
        if (tools == null || tools.isNull()) return null;
        if (!tools.isArray()) throw ApiError.badRequest("tools", "tools must be an array, got " + JsonArgs.kind(tools));
        for (int i = 0; i < tools.size(); i++) {
            JsonNode t = tools.get(i);
            JsonNode name = t.path("function").get("name");
            if (!t.isObject() || !"function".equals(t.path("type").asText()) || name == null || !name.isTextual()) {
                throw ApiError.badRequest("tools[" + i + "]", "tools[" + i + "] must be {\"type\": \"function\", "
                        + "\"function\": {\"name\": …, \"parameters\": …}}");
            }
        }
        if (tools.isEmpty()) return null;
        if (choice == null || choice.isNull()) return tools;
        if (choice.isTextual()) {
            return switch (choice.textValue()) {
                case "none" -> null;
                case "auto", "required" -> tools;
                default -> throw ApiError.badRequest("tool_choice", "tool_choice must be none, auto, required or "
                        + "{\"type\": \"function\", \"function\": {\"name\": …}}");
            };
        }
        JsonNode wanted = choice.path("function").get("name");
        if (wanted == null || !wanted.isTextual()) {
            throw ApiError.badRequest("tool_choice", "tool_choice must name a function: {\"type\": \"function\", "
                    + "\"function\": {\"name\": …}}");
        }
        ArrayNode only = F.arrayNode();
        for (JsonNode t : tools) if (wanted.textValue().equals(t.path("function").path("name").asText())) only.add(t);
        if (only.isEmpty()) {
            throw ApiError.badRequest("tool_choice", "tool_choice names '" + wanted.textValue() + "', which is not in tools");
        }
        return only;
    }

    private static Message toolCallMessage(JsonNode call, String where) {
        JsonNode fn = call.path("function");
        JsonNode name = fn.get("name"), args = fn.get("arguments");
        if (name == null || !name.isTextual()) throw ApiError.badRequest(where, where + ".function.name must be a string");
        JsonNode parsed;
        try {
            parsed = args == null || args.isNull() ? F.objectNode() : JSON.readTree(args.asText());
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest(where, where + ".function.arguments must be a JSON object");
        }
        if (!parsed.isObject()) throw ApiError.badRequest(where, where + ".function.arguments must be a JSON object");
        StringBuilder code = new StringBuilder("```python\ntool_call(");
        Iterator<Map.Entry<String, JsonNode>> it = parsed.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            code.append(e.getKey()).append('=');
            pythonRepr(e.getValue(), code);
            if (it.hasNext()) code.append(", ");
        }
        return Message.assistant(name.textValue(), code.append(")\n```").toString());
    }

    /** Python's {@code repr} of a JSON value, as the model writes tool-call arguments. */
    static void pythonRepr(JsonNode v, StringBuilder out) {
        if (v.isTextual()) {
            String s = v.textValue();
            char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
            out.append(q);
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == q || c == '\\') out.append('\\').append(c);
                else if (c == '\n') out.append("\\n");
                else if (c == '\r') out.append("\\r");
                else if (c == '\t') out.append("\\t");
                else if (c < 0x20 || c == 0x7f) out.append(String.format("\\x%02x", (int) c));
                else out.append(c);
            }
            out.append(q);
        } else if (v.isBoolean()) {
            out.append(v.booleanValue() ? "True" : "False");
        } else if (v.isNull()) {
            out.append("None");
        } else if (v.isArray()) {
            out.append('[');
            for (int i = 0; i < v.size(); i++) {
                if (i > 0) out.append(", ");
                pythonRepr(v.get(i), out);
            }
            out.append(']');
        } else if (v.isObject()) {
            out.append('{');
            Iterator<Map.Entry<String, JsonNode>> it = v.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                pythonRepr(F.textNode(e.getKey()), out);
                out.append(": ");
                pythonRepr(e.getValue(), out);
                if (it.hasNext()) out.append(", ");
            }
            out.append('}');
        } else {
            out.append(v.asText());
        }
    }

    private static String text(JsonNode m, String where, boolean nullable) {
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
            JsonNode text = part.get("text");
            if (!part.isObject() || !"text".equals(part.path("type").asText()) || text == null || !text.isTextual()) {
                throw ApiError.badRequest(param + "[" + i + "]", "only text content parts are supported");
            }
            if (i > 0) sb.append('\n');
            sb.append(text.textValue());
        }
        return sb.toString();
    }

    /** The {@code tool_calls} array of a tool-call reply. */
    static ArrayNode toolCalls(AssistantReply reply, boolean withIndex) {
        ArrayNode calls = F.arrayNode();
        ObjectNode call = calls.addObject();
        if (withIndex) call.put("index", 0);
        call.put("id", "call_" + UUID.randomUUID().toString().replace("-", ""));
        call.put("type", "function");
        ObjectNode fn = call.putObject("function");
        fn.put("name", reply.name());
        fn.put("arguments", reply.parameters().toString());
        return calls;
    }

    /** The text of a reply that is not a tool call ({@code {"name","content"}}: the tool name line and the content). */
    static String text(AssistantReply reply) {
        return reply.isText() ? reply.content() : reply.name() + "\n" + reply.content();
    }
}
