package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;

import java.util.List;

/**
 * The model answered a conversation that offers tools with a tool name, but what follows is not a readable
 * {@code tool_call(...)}: the reference's {@code eval} would raise. Carries the reply read as
 * {@code {"name", "content"}} and the history, for front ends that prefer to pass the text on (as ChatGLM3's
 * OpenAI API demo does).
 */
public final class ToolCallException extends ChatGlmException {
    private final transient AssistantReply fallback;
    private final transient List<Message> history;

    /** An unreadable tool call described by {@code message}; {@code history} is copied. */
    public ToolCallException(String message, AssistantReply fallback, List<Message> history) {
        super(message);
        this.fallback = fallback;
        this.history = List.copyOf(history);
    }

    /** The reply read as {@code {"name", "content"}}: what to show when the tool call cannot be run. */
    public AssistantReply fallback() {
        return fallback;
    }

    /** The history with the reply's assistant messages, as process_response built it. */
    public List<Message> history() {
        return history;
    }
}
