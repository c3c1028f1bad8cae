package org.chatglm4j.cli;

import picocli.CommandLine;

import java.io.BufferedOutputStream;
import java.io.Console;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The {@code chatglm} command. {@link #main} wires the process's streams; {@link #run} is the same program for
 * tests and embedders, returning the exit status instead of exiting: 0 success, 1 runtime error, 2 usage error,
 * 130 interrupted.
 */
public final class Main {
    /** Set by bin/chatglm, which can tell (Java alone cannot) whether standard error is a terminal. */
    static final String STDERR_TERMINAL_PROPERTY = "chatglm.stderr.terminal";

    private Main() {
    }

    public static void main(String[] args) {
        // UTF-8 whatever the locale says: replies are mostly Chinese and JSON output must be UTF-8
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
                false, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        Console console = System.console();
        boolean terminal = console != null && console.isTerminal();
        String stderrProperty = System.getProperty(STDERR_TERMINAL_PROPERTY);
        boolean stderrTerminal = stderrProperty != null ? Boolean.parseBoolean(stderrProperty) : terminal;
        CliContext ctx = new CliContext(System.in, out, err, System.getenv(),
                org.chatglm4j.hub.HubOptions.userHome(System.getenv()), terminal, stderrTerminal, status -> {
                    out.flush();
                    System.exit(status);
                });
        int status = run(args, ctx);
        out.flush();
        err.flush();
        System.exit(status);
    }

    /** Runs the command line with the given streams and the process's environment, non-interactively. */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        return run(args, CliContext.of(in, out, err, System.getenv(), org.chatglm4j.hub.HubOptions.userHome(System.getenv())));
    }

    public static int run(String[] args, CliContext ctx) {
        CommandLine cmd = commandLine(ctx);
        try {
            return cmd.execute(args);
        } catch (OutOfMemoryError | StackOverflowError e) {
            // Errors are not Exceptions: picocli lets them through
            new ErrorReporter(ctx.err()).report(e, java.util.Arrays.asList(args).contains("--verbose"));
            return ErrorReporter.RUNTIME_ERROR;
        } finally {
            ctx.out().flush();
            ctx.err().flush();
        }
    }

    /** The configured picocli command tree (subcommands are registered in {@link ChatglmCommand}). */
    static CommandLine commandLine(CliContext ctx) {
        CommandLine cmd = new CommandLine(new ChatglmCommand(), new CommandFactory(ctx));
        cmd.setOut(new PrintWriter(ctx.out(), true, StandardCharsets.UTF_8));
        cmd.setErr(new PrintWriter(ctx.err(), true, StandardCharsets.UTF_8));
        ErrorReporter errors = new ErrorReporter(ctx.err());
        cmd.setParameterExceptionHandler(errors);
        cmd.setExecutionExceptionHandler(errors);
        cmd.setCaseInsensitiveEnumValuesAllowed(true);
        return cmd;
    }
}
