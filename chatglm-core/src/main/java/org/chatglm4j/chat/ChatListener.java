package org.chatglm4j.chat;

/** Receives a streaming reply token by token. */
@FunctionalInterface
public interface ChatListener {
    /**
     * Called after every generated token.
     *
     * @param delta    text that became final since the last call (possibly empty); all deltas concatenated give
     *                 the final response
     * @param response the whole response so far, as the reference's {@code stream_chat} yields it (its end may
     *                 still change)
     */
    void onUpdate(String delta, String response);
}
