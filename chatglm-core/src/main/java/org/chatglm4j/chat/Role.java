package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;

import java.util.Locale;

/** The speaker of a ChatGLM3 message; each is written as its own special token {@code <|role|>}. */
public enum Role {
    /** Instructions, and the tools the model may call. */
    SYSTEM,
    /** The person chatting. */
    USER,
    /** The model's replies, tool calls included. */
    ASSISTANT,
    /** The result of a tool call, fed back to the model. */
    OBSERVATION;

    /** The name used in the reference's history dicts and in the token: {@code "user"}, {@code <|user|>}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The special token that opens a message of this role: {@code <|user|>} and the like. */
    public String token() {
        return "<|" + wireName() + "|>";
    }

    /** The role of a wire name ({@code "user"}, ...); throws {@link ChatGlmException} on anything else. */
    public static Role parse(String s) {
        if (s != null) {
            for (Role r : values()) if (r.wireName().equals(s)) return r;
        }
        throw new ChatGlmException("unknown role " + (s == null ? "null" : "\"" + s + "\"")
                + ": expected system, user, assistant or observation");
    }
}
