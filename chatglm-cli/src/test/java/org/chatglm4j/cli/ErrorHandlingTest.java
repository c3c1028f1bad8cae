package org.chatglm4j.cli;

import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Bad input anywhere gives one line "chatglm: error: …" on stderr and a non-zero status, never a stack trace. */
class ErrorHandlingTest {

    static void assertOneLineError(Cli.Result r, int status, String... fragments) {
        assertThat(r.status()).as(r.err()).isEqualTo(status);
        assertThat(r.errLines()).as(r.err()).singleElement().asString().startsWith("chatglm: error: ").contains(fragments);
        assertThat(r.err()).doesNotContain("Exception", "\tat ");
    }

    /** A copy of model_a's checkpoint folder, to damage. */
    static Path copyOfModelA(Path dir) throws IOException {
        Path src = Fixtures.path("model_a/checkpoint");
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        return dir;
    }

    @Test
    void unknownOptionIsAUsageError() {
        Cli.Result r = Cli.run("", "chat", "--model", Cli.fixture("model_a/checkpoint"), "--bogus");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.errLines().getFirst()).isEqualTo("chatglm: error: Unknown option: '--bogus'");
        assertThat(r.errLines().getLast()).isEqualTo("Try 'chatglm chat --help' for more information.");
        assertThat(r.err()).doesNotContain("Exception");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void unknownCommandAndMissingCommandAreUsageErrors() {
        Cli.Result unknown = Cli.run("", "chta");
        assertThat(unknown.status()).isEqualTo(2);
        assertThat(unknown.errLines().getFirst()).startsWith("chatglm: error: Unmatched argument");
        assertThat(unknown.err()).contains("chat");   // picocli's suggestion
        Cli.Result none = Cli.run("");
        assertThat(none.status()).isEqualTo(2);
        assertThat(none.errLines().getFirst()).startsWith("chatglm: error: a command is required");
    }

    @Test
    void badOptionValuesAreUsageErrors() {
        assertThat(Cli.run("", "chat", "--threads", "0").status()).isEqualTo(2);
        assertThat(Cli.run("", "chat", "--max-length", "ten").status()).isEqualTo(2);
        Cli.Result r = Cli.run("", "chat", "--model", Cli.fixture("model_a/checkpoint"), "--max-length", "0");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.errLines().getFirst()).isEqualTo("chatglm: error: max_length must be at least 1, got 0");
    }

    @Test
    void helpAndVersionSucceed() {
        Cli.Result help = Cli.run("", "--help");
        assertThat(help.status()).isZero();
        assertThat(help.out()).contains("chat", "generate", "tokenize", "logits", "info");
        Cli.Result chatHelp = Cli.run("", "chat", "--help");
        assertThat(chatHelp.status()).isZero();
        assertThat(chatHelp.out()).contains("--top-p=P", "Default: 0.7", "--temperature=T", "Default: 0.95",
                "Default: 2048", "--ptuning=DIR", "--stop=STRING");
        Cli.Result genHelp = Cli.run("", "help", "generate");
        assertThat(genHelp.status()).isZero();
        assertThat(genHelp.out()).contains("greedy (do_sample=False)", "Default: 1.0");
        Cli.Result version = Cli.run("", "--version");
        assertThat(version.status()).isZero();
        assertThat(version.out()).startsWith("chatglm4j ");
    }

    @Test
    void missingModelFolder() {
        assertOneLineError(Cli.run("", "chat", "--model", "/no/such/model/folder"), 1, "/no/such/model/folder");
        assertOneLineError(Cli.run("", "tokenize", "--model", "/no/such/model/folder"), 1, "/no/such/model/folder");
    }

    @Test
    void corruptConfigJson(@TempDir Path dir) throws Exception {
        Path model = copyOfModelA(dir);
        Files.writeString(model.resolve("config.json"), "{\"num_layers\": 3,");
        assertOneLineError(Cli.run("hi\n", "chat", "--model", model.toString()), 1, "config.json", "invalid JSON");
        assertOneLineError(Cli.run("", "info", "--model", model.toString()), 1, "config.json", "invalid JSON");
        Files.writeString(model.resolve("config.json"), "{\"hidden_size\": \"big\"}");
        assertOneLineError(Cli.run("", "generate", "--model", model.toString(), "--prompt", "x"), 1,
                "hidden_size must be an integer");
    }

    @Test
    void truncatedWeights(@TempDir Path dir) throws Exception {
        Path model = copyOfModelA(dir);
        Path bin = model.resolve("pytorch_model.bin");
        byte[] bytes = Files.readAllBytes(bin);
        Files.write(bin, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertOneLineError(Cli.run("", "logits", "--model", model.toString(), "--ids", "5,1301,1304"), 1,
                "pytorch_model.bin");
    }

    @Test
    void invalidJsonLineIsReportedAndTheStatusIsNonZero() {
        Cli.Result r = Cli.run("{oops\n", "chat", "--model", Cli.fixture("model_a/checkpoint"), "--json", "--greedy");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.out()).startsWith("{\"error\":\"line 1: invalid JSON: ");
        assertOneLineError(r, 1, "line 1: invalid JSON");
    }

    @Test
    void queryLongerThanMaxLength() {
        Cli.Result r = Cli.run("你好你好你好你好你好你好你好你好你好你好\n", "chat", "--model",
                Cli.fixture("model_a/checkpoint"), "--greedy", "--max-length", "5");
        assertOneLineError(r, 1, "line 1: the query is", "no room for a reply");
    }

    @Test
    void unreachableHub(@TempDir Path cache) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Map<String, String> env = Map.of("HF_ENDPOINT", "http://127.0.0.1:" + port, "HF_HUB_CACHE", cache.toString(),
                "HF_HUB_OFFLINE", "0");
        Cli.Result r = Cli.run(env, "", "tokenize", "--model", "some/repo");
        assertOneLineError(r, 1, "127.0.0.1:" + port, "some/repo");
        Cli.Result offline = Cli.run(Map.of("HF_HUB_CACHE", cache.toString()), "", "chat", "--model", "some/repo");
        assertOneLineError(offline, 1, "some/repo", "HF_HUB_OFFLINE");
    }

    @Test
    void messagesAreOneLineAndBugsSayHowToSeeMore() {
        assertThat(ErrorReporter.message(new org.chatglm4j.ChatGlmException("a.json: bad\nsecond line")))
                .isEqualTo("a.json: bad");
        assertThat(ErrorReporter.message(new NullPointerException("x is null")))
                .isEqualTo("internal error: java.lang.NullPointerException: x is null (run again with --verbose for "
                        + "the stack trace)");
        assertThat(ErrorReporter.message(new OutOfMemoryError("Java heap space")))
                .startsWith("out of memory (Java heap space): give the JVM more heap, e.g. JAVA_OPTS=-Xmx");
        assertThat(ErrorReporter.message(new java.io.UncheckedIOException(new java.io.IOException("disk full"))))
                .isEqualTo("java.io.IOException: disk full");
    }

    @Test
    void verboseAddsTheStackTrace() {
        Cli.Result r = Cli.run("", "info", "--model", "/no/such/model/folder", "--verbose");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.errLines().getFirst()).startsWith("chatglm: error: ");
        assertThat(r.err()).contains("ChatGlmException", "\tat ");
    }
}
