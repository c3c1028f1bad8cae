package org.chatglm4j.chat;

/**
 * Thrown by a {@link ChatEngine} that does its own admission control (a bounded queue of waiting requests) when
 * it cannot take one more request now; front ends answer "try again later" (HTTP 429 or 503 with Retry-After).
 * It is not a problem with the request, so it is not a {@link org.chatglm4j.ChatGlmException}.
 */
public class EngineBusyException extends RuntimeException {
    /** The engine's slots and queue are full; the message says how many. */
    public EngineBusyException(String message) {
        super(message);
    }
}
