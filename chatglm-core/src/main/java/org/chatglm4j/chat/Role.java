package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;

import java.util.Locale;

/** The speaker of a ChatGLM3 message; each is written as its own special token {@code <|role|>}. */
public enum Role {
    SYSTEM, USER, ASSISTANT, OBSERVATION;

    /** The name used in the reference's history dicts and in the token: {@code "user"}, {@code <|user|>}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public String token() {
        return "<|" + wireName() + "|>";
    }

    public static Role parse(String s) {
        if (s != null) {
            for (Role r : values()) if (r.wireName().equals(s)) return r;
        }
        throw new ChatGlmException("unknown role " + (s == null ? "null" : "\"" + s + "\"")
                + ": expected system, user, assistant or observation");
    }
}
