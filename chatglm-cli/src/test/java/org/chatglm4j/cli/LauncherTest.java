package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real {@code bin/chatglm}, as a subprocess: found through a symlink from another folder, it finds a JDK and
 * runs {@code tokenize --json} on a fixture. The class path comes from this test run (CHATGLM_CLASSPATH) so that
 * the launcher does not start a Maven build of the tree that is being tested.
 */
class LauncherTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static String codeSource(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }

    @Test
    void binChatglmRunsTokenizeThroughASymlinkFromAnyFolder(@TempDir Path dir) throws Exception {
        Path launcher = Path.of(System.getProperty("user.dir")).getParent().resolve("bin/chatglm");
        assertThat(launcher).isExecutable();
        Path link = dir.resolve("chatglm");
        Files.createSymbolicLink(link, launcher.toAbsolutePath());

        String classPath = String.join(File.pathSeparator, codeSource(Main.class), codeSource(ChatGLM.class),
                codeSource(ObjectMapper.class), codeSource(com.fasterxml.jackson.core.JsonFactory.class),
                codeSource(com.fasterxml.jackson.annotation.JsonProperty.class),
                codeSource(picocli.CommandLine.class), codeSource(org.jline.terminal.Terminal.class));
        ProcessBuilder pb = new ProcessBuilder(link.toString(), "tokenize", "--json", "--model",
                Fixtures.path("tokenizer_bpe").toString()).directory(dir.toFile());
        pb.environment().put("CHATGLM_CLASSPATH", classPath);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("CHATGLM_JAVA_OPTS", "-Xmx256m -XX:TieredStopAtLevel=1");
        pb.environment().remove("JAVA_OPTS");

        JsonNode cases = Fixtures.json("tokenizer_bpe/tokenizer.json").get("cases");
        List<JsonNode> some = new ArrayList<>();
        for (int i = 0; i < cases.size(); i += 25) some.add(cases.get(i));
        StringBuilder in = new StringBuilder();
        for (JsonNode c : some) in.append(JSON.writeValueAsString(JSON.createObjectNode().put("text", c.get("text").asText()))).append('\n');

        Path stdout = dir.resolve("out.txt"), stderr = dir.resolve("err.txt");
        pb.redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
        Process p = pb.start();
        p.getOutputStream().write(in.toString().getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("launcher finished").isTrue();
        String err = Files.readString(stderr);
        assertThat(p.exitValue()).as(err).isZero();
        // a captured stderr holds only our own messages (the JVM's incubator notice is filtered out)
        assertThat(err).isEmpty();
        List<String> lines = Files.readAllLines(stdout, StandardCharsets.UTF_8);
        assertThat(lines).hasSize(some.size());
        for (int i = 0; i < some.size(); i++) {
            JsonNode got = JSON.readTree(lines.get(i));
            assertThat(got.get("ids")).isEqualTo(some.get(i).get("ids"));
            assertThat(got.get("pieces")).isEqualTo(some.get(i).get("pieces"));
            assertThat(got.get("input_ids")).isEqualTo(some.get(i).get("input_ids"));
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertThat(left.map(x -> x.getFileName().toString())).containsExactlyInAnyOrder("chatglm", "out.txt", "err.txt");
        }
    }

    /**
     * The launcher's heap default (parallel collector, 32 MB young generation) applies unless the user's JVM flags
     * name a collector or a young generation: then theirs run alone, with no "conflicting collectors" failure.
     */
    @Test
    void heapDefaultsGiveWayToTheUsersCollector(@TempDir Path dir) throws Exception {
        Path launcher = Path.of(System.getProperty("user.dir")).getParent().resolve("bin/chatglm");
        String classPath = String.join(File.pathSeparator, codeSource(Main.class), codeSource(ChatGLM.class),
                codeSource(ObjectMapper.class), codeSource(com.fasterxml.jackson.core.JsonFactory.class),
                codeSource(com.fasterxml.jackson.annotation.JsonProperty.class),
                codeSource(picocli.CommandLine.class), codeSource(org.jline.terminal.Terminal.class));
        String[][] cases = {{"", "-XX:+UseParallelGC", "-XX:+UseG1GC"}, {"-XX:+UseG1GC", "-XX:+UseG1GC", "-XX:+UseParallelGC"},
                {"-Xmn64m", "-XX:NewSize=67108864", "-XX:+UseParallelGC"}};
        for (String[] c : cases) {
            ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "--version").directory(dir.toFile());
            pb.environment().put("CHATGLM_CLASSPATH", classPath);
            pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
            pb.environment().put("JAVA_OPTS", c[0]);
            pb.environment().put("CHATGLM_JAVA_OPTS", "-XX:+PrintCommandLineFlags -XX:TieredStopAtLevel=1");
            Path out = dir.resolve("out.txt"), err = dir.resolve("err.txt");
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as("JAVA_OPTS=%s: %s", c[0], Files.readString(err)).isZero();
            String flags = Files.readString(out);
            assertThat(flags).as("JAVA_OPTS=%s", c[0]).contains(c[1]).doesNotContain(c[2]).contains("chatglm4j");
        }
    }
}
