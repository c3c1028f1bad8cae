package org.chatglm4j.cli;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;

/** Where the CLI keeps its state, following the XDG base directory spec. */
final class StatePaths {
    private StatePaths() {
    }

    /**
     * The chat input history: {@code $XDG_STATE_HOME/chatglm4j/history}, or {@code ~/.local/state/chatglm4j/history}
     * when the variable is unset, empty or not an absolute path (the spec says to ignore relative ones).
     */
    static Path historyFile(Map<String, String> env, Path home) {
        return stateHome(env, home).resolve("chatglm4j").resolve("history");
    }

    static Path stateHome(Map<String, String> env, Path home) {
        String xdg = env.get("XDG_STATE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            try {
                Path p = Path.of(xdg);
                if (p.isAbsolute()) return p;
            } catch (InvalidPathException e) {
                // fall through to the default, as for a relative path
            }
        }
        return home.resolve(".local").resolve("state");
    }
}
