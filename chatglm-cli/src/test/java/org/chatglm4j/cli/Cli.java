package org.chatglm4j.cli;

import org.chatglm4j.testing.Fixtures;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Runs the CLI in-process, as the tests see it: arguments and stdin in, exit status, stdout and stderr out. */
final class Cli {
    /** Two threads: the fixtures are tiny, and the build machine is shared. */
    static final String THREADS = "2";

    record Result(int status, String out, String err) {
        List<String> outLines() {
            return out.isEmpty() ? List.of() : out.lines().toList();
        }

        List<String> errLines() {
            return err.isEmpty() ? List.of() : err.lines().toList();
        }
    }

    private Cli() {
    }

    static String fixture(String relative) {
        return Fixtures.path(relative).toString();
    }

    static Result run(String stdin, String... args) {
        return run(Map.of(), stdin, args);
    }

    /**
     * @param env environment on top of a hermetic default: an offline hub and a cache folder that does not exist,
     *            so no test ever touches the network or the user's cache unless it says so
     */
    static Result run(Map<String, String> env, String stdin, String... args) {
        Map<String, String> e = new HashMap<>();
        Path home = Path.of(System.getProperty("java.io.tmpdir"), "chatglm-cli-test-home");
        e.put("HF_HUB_CACHE", home.resolve("hf-cache").toString());
        e.put("HF_HUB_OFFLINE", "1");
        e.putAll(env);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, false, StandardCharsets.UTF_8);
        PrintStream r = new PrintStream(err, true, StandardCharsets.UTF_8);
        CliContext ctx = CliContext.of(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), o, r, e, home);
        int status = Main.run(args, ctx);
        o.flush();
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
