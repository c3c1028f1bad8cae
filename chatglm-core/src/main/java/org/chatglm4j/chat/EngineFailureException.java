package org.chatglm4j.chat;

/**
 * The engine failed while serving a request (out of memory in a decoding step, a bug): not the request's fault.
 * Front ends answer it as an internal error (HTTP 500), never as a bad request; the engine itself keeps serving.
 */
public final class EngineFailureException extends RuntimeException {
    /** A failure described by {@code message}, caused by {@code cause} (kept for the logs). */
    public EngineFailureException(String message, Throwable cause) {
        super(message, cause);
    }
}
