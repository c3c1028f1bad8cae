package org.chatglm4j.cli;

import org.chatglm4j.hub.HubOptions;

import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * What a command may touch of the outside world, passed in so that tests run every command in-process with their
 * own streams and environment (e.g. an {@code HF_ENDPOINT} on a closed port and an empty {@code HF_HUB_CACHE}).
 *
 * @param in               standard input (UTF-8 text)
 * @param out              standard output; commands flush it after every line or row they write
 * @param err              standard error: notes, progress, and the one-line error messages
 * @param env              environment variables (hub settings, {@code XDG_STATE_HOME})
 * @param home             the user's home folder
 * @param stdinTerminal    whether standard input is an interactive terminal (chat then opens a line editor)
 * @param stderrTerminal   whether standard error is a terminal (download progress is then redrawn in place)
 * @param exit             ends the process with a status; only called for Ctrl-C outside a reply
 */
public record CliContext(InputStream in, PrintStream out, PrintStream err, Map<String, String> env, Path home,
                         boolean stdinTerminal, boolean stderrTerminal, IntConsumer exit) {

    public CliContext {
        env = Map.copyOf(env);
    }

    /** A non-interactive context with the given environment: what tests use. */
    public static CliContext of(InputStream in, PrintStream out, PrintStream err, Map<String, String> env, Path home) {
        return new CliContext(in, out, err, env, home, false, false, status -> {
            throw new IllegalStateException("exit(" + status + ") requested by a non-interactive run");
        });
    }

    /** Where and how models are downloaded, from this context's environment (as huggingface_hub reads it). */
    public HubOptions hubOptions() {
        return HubOptions.fromEnvironment(env, home);
    }
}
