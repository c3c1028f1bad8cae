package org.chatglm4j.cli;

/** What a line typed at the interactive prompt means. */
enum ChatInput {
    /** Nothing typed: prompt again. */
    EMPTY,
    /** {@code clear}: start a new conversation. */
    CLEAR,
    /** {@code stop} or {@code exit}: leave. */
    QUIT,
    /** Anything else is a message for the model. */
    QUERY;

    static ChatInput of(String line) {
        String s = line.strip();
        return switch (s) {
            case "" -> EMPTY;
            case "clear" -> CLEAR;
            case "stop", "exit" -> QUIT;
            default -> QUERY;
        };
    }
}
