package org.chatglm4j.eval;

import org.chatglm4j.ChatGlmException;

/** An evaluation that cannot be scored or read: bad data, or a pair the reference's metrics refuse. */
public final class EvalException extends ChatGlmException {
    public EvalException(String message) {
        super(message);
    }

    public EvalException(String message, Throwable cause) {
        super(message, cause);
    }
}
