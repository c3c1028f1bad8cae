package org.chatglm4j;

/**
 * The one exception type the library throws for bad input: a corrupt or missing file, a tensor of the wrong shape,
 * a prompt that does not fit, an unreachable hub. The message is a single line that names what (usually a file) and
 * the problem, fit to print to a user as it is; the cause, when present, is for {@code --verbose}.
 */
public class ChatGlmException extends RuntimeException {
    /** A failure with a one-line message naming the input and the problem. */
    public ChatGlmException(String message) {
        super(message);
    }

    /** A failure with a one-line message and the exception that caused it. */
    public ChatGlmException(String message, Throwable cause) {
        super(message, cause);
    }
}
