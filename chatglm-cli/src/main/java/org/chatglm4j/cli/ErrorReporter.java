package org.chatglm4j.cli;

import org.chatglm4j.ChatGlmException;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;

/**
 * Turns failures into the CLI's error contract: one line {@code chatglm: error: <message>} on stderr, status 2 for
 * usage errors (with picocli's suggestions and a pointer to --help) and 1 for everything else; a stack trace only
 * with {@code --verbose}.
 */
final class ErrorReporter implements CommandLine.IParameterExceptionHandler, CommandLine.IExecutionExceptionHandler {
    static final String PREFIX = "chatglm: error: ";
    static final int RUNTIME_ERROR = 1;
    static final int USAGE_ERROR = 2;

    private final PrintStream err;

    ErrorReporter(PrintStream err) {
        this.err = err;
    }

    @Override
    public int handleParseException(ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        String message = oneLine(ex.getMessage());
        // picocli starts some messages with its own "Error: "; ours already says it
        if (message.startsWith("Error: ")) message = message.substring("Error: ".length());
        err.println(PREFIX + message);
        err.flush();
        CommandLine.UnmatchedArgumentException.printSuggestions(ex, cmd.getErr());
        cmd.getErr().flush();
        err.println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help' for more information.");
        err.flush();
        return USAGE_ERROR;
    }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
        Throwable t = ex instanceof CommandLine.ExecutionException && ex.getCause() != null ? ex.getCause() : ex;
        report(t, isVerbose(parseResult));
        return RUNTIME_ERROR;
    }

    /** Prints the one-line message of a failure (and its stack trace when verbose). */
    void report(Throwable ex, boolean verbose) {
        err.println(PREFIX + message(ex));
        if (verbose) ex.printStackTrace(err);
        err.flush();
    }

    /** The user-facing message: ours as they are, I/O problems by their message, anything else by its class. */
    static String message(Throwable ex) {
        String m = ex.getMessage();
        // the library reports bad input as ChatGlmException, and a few checks of values as IllegalArgumentException
        if (ex instanceof ChatGlmException || ex instanceof UncheckedIOException || ex instanceof IOException
                || ex instanceof IllegalArgumentException) {
            return oneLine(m == null ? ex.toString() : m);
        }
        if (ex instanceof OutOfMemoryError) {
            return "out of memory (" + oneLine(String.valueOf(m)) + "): give the JVM more heap, e.g. "
                    + "JAVA_OPTS=-Xmx16g (see 'chatglm info' for what a model needs)";
        }
        // a bug, not bad input: say what it was and how to see more
        return "internal error: " + oneLine(ex.toString()) + " (run again with --verbose for the stack trace)";
    }

    static String oneLine(String s) {
        if (s == null) return "";
        String first = s.strip().lines().findFirst().orElse("");
        return first.length() > 2000 ? first.substring(0, 2000) + "…" : first;
    }

    /** Whether --verbose was given to the command that ran (or any command above it). */
    static boolean isVerbose(ParseResult pr) {
        for (ParseResult p = pr; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }
}
