package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The container image of {@code bin/image} (target/image/chatglm4j-image.tar). {@code bin/test-image}, which CI
 * runs, builds it and runs this class with {@code CHATGLM_IMAGE_REQUIRED=1}, so that a missing image fails; a plain
 * {@code bin/test} skips it when the image has not been built (its Debian base takes minutes and network access).
 * Checks the image's configuration, then serves the fixture model from the image and asks one request: under
 * podman where podman can run containers, and in any case from the layers Jib added (runtime and jars), unpacked
 * into a temporary folder, by running the entrypoint's command directly.
 */
class ImageTest {
    private static final Path IMAGE = Path.of("..", "target", "image", "chatglm4j-image.tar").toAbsolutePath().normalize();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Map<String, byte[]> entries;
    private static JsonNode config;

    @BeforeAll
    static void read() throws IOException {
        if ("1".equals(System.getenv("CHATGLM_IMAGE_REQUIRED"))) {
            assertThat(IMAGE).as("bin/image's output").isRegularFile();
        }
        assumeTrue(Files.isRegularFile(IMAGE), "no " + IMAGE + ": run bin/image first");
        try (InputStream in = Files.newInputStream(IMAGE)) {
            entries = untar(in, null);
        }
        JsonNode manifest = JSON.readTree(entries.get("manifest.json"));
        config = JSON.readTree(entries.get(manifest.get(0).get("Config").asText()));
    }

    @Test
    void configHasTheEntrypointUserPortsAndEnvironment() {
        JsonNode c = config.get("config");
        List<String> entrypoint = strings(c.get("Entrypoint"));
        assertThat(entrypoint.getFirst()).isEqualTo("/opt/java/bin/java");
        assertThat(entrypoint).contains("--add-modules", "jdk.incubator.vector", "org.chatglm4j.cli.Main", "serve",
                "0.0.0.0", "8000");
        assertThat(strings(c.get("Cmd"))).containsExactly("--model", "THUDM/chatglm-6b");
        assertThat(c.get("User").asText()).isEqualTo("10001:10001");
        assertThat(c.get("ExposedPorts").has("8000/tcp")).isTrue();
        assertThat(strings(c.get("Env"))).contains("HF_HOME=/cache/huggingface", "LANG=C.UTF-8");
        assertThat(c.get("Volumes").has("/cache")).isTrue();
        assertThat(c.get("Volumes").has("/models")).isTrue();
        assertThat(config.get("architecture").asText()).isEqualTo("amd64");
    }

    @Test
    void entrypointServesTheFixtureModelFromTheUnpackedLayers(@TempDir Path root) throws Exception {
        JsonNode manifest = JSON.readTree(entries.get("manifest.json"));
        List<String> layers = strings(manifest.get(0).get("Layers"));
        // the first layer is the Debian base (the host's own libraries stand in for it); the rest are Jib's
        for (String layer : layers.subList(1, layers.size())) {
            byte[] bytes = entries.get(layer);
            InputStream in = new java.io.ByteArrayInputStream(bytes);
            if (bytes.length > 2 && (bytes[0] & 0xff) == 0x1f && (bytes[1] & 0xff) == 0x8b) in = new GZIPInputStream(in);
            untar(new BufferedInputStream(in), root);
        }
        assertThat(Files.isExecutable(root.resolve("opt/java/bin/java"))).as("the jlinked runtime is in the image").isTrue();
        assertThat(root.resolve("opt/java/bin/javac")).doesNotExist();

        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> cmd = new ArrayList<>();
        for (String a : strings(config.get("config").get("Entrypoint"))) {
            String moved = a.startsWith("/opt/") || a.startsWith("/app/")
                    ? a.replace("/app/", root + "/app/").replace("/opt/", root + "/opt/") : a;
            cmd.add(moved.equals("8000") ? Integer.toString(port) : moved);
        }
        cmd.addAll(List.of("--model", Fixtures.path("model_a/checkpoint").toString(), "--threads", "2"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(root.resolve("serve.log").toFile()).start();
        try {
            answersOneRequest(port, p::isAlive, () -> log(root));
        } finally {
            p.destroy();
            p.waitFor();
        }
    }

    /**
     * The image itself under podman, with the fixture model mounted at /models. Skipped (with the reason) where
     * podman is missing or cannot run containers, e.g. in a sandbox without cgroup controllers or CAP_SYS_RESOURCE.
     */
    @Test
    void podmanRunsTheImageAgainstTheFixtureModel() throws Exception {
        String why = podmanCannotRun();
        assumeTrue(why == null, why);
        String image = podmanName();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String name = "chatglm4j-image-test-" + ProcessHandle.current().pid();
        Path models = Fixtures.path("model_a");
        exec(120, "podman", "run", "-d", "--name", name, "-p", "127.0.0.1:" + port + ":8000",
                "-v", models + ":/models:ro", image, "--model", "/models/checkpoint", "--threads", "2");
        try {
            answersOneRequest(port, () -> true, () -> {
                try {
                    return execOutput(30, "podman", "logs", name);
                } catch (IOException | InterruptedException e) {
                    return "(no log: " + e + ")";
                }
            });
        } finally {
            execOutput(60, "podman", "rm", "-f", name);
        }
    }

    /** The image's tag as podman names it once loaded (a bare name goes under localhost/). */
    private static String podmanName() throws IOException {
        String tag = JSON.readTree(entries.get("manifest.json")).get(0).get("RepoTags").get(0).asText();
        return tag.contains("/") ? tag : "localhost/" + tag;
    }

    /** Why podman cannot run this image here (null when it can): loads it and runs {@code java -version} in it. */
    private static String podmanCannotRun() {
        try {
            if (execOutput(60, "podman", "load", "-q", "-i", IMAGE.toString()) == null) return "podman cannot load the image";
            String[] run = {"podman", "run", "--rm", "--entrypoint", "/opt/java/bin/java", podmanName(), "-version"};
            if (execOutput(120, run) != null) return null;
            Path log = Files.createTempFile("podman", ".log");
            try {
                Process p = new ProcessBuilder(run).redirectErrorStream(true).redirectOutput(log.toFile()).start();
                if (!p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly();
                return "podman cannot run containers on this machine: " + Files.readString(log).strip();
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            return "no podman: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    /** Runs a command; its output, or null when it fails or outlives {@code seconds}. */
    private static String execOutput(int seconds, String... cmd) throws IOException, InterruptedException {
        Path log = Files.createTempFile("image-test", ".log");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(seconds, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            return p.exitValue() == 0 ? Files.readString(log) : null;
        } finally {
            Files.deleteIfExists(log);
        }
    }

    private static void exec(int seconds, String... cmd) throws IOException, InterruptedException {
        assertThat(execOutput(seconds, cmd)).as(String.join(" ", cmd)).isNotNull();
    }

    /** Waits (up to two minutes) for /health to say 200 while {@code alive}, then asks the reference API once. */
    private static void answersOneRequest(int port, java.util.function.BooleanSupplier alive,
                                          java.util.function.Supplier<String> log) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI base = URI.create("http://127.0.0.1:" + port + "/");
        int status = 0;
        for (int i = 0; i < 240 && status != 200; i++) {
            assertThat(alive.getAsBoolean()).as("server log: %s", log.get()).isTrue();
            try {
                status = http.send(HttpRequest.newBuilder(base.resolve("health")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (IOException notYet) {
                Thread.sleep(500);
            }
        }
        assertThat(status).as("server log: %s", log.get()).isEqualTo(200);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(base)
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"prompt\": \"你好\", \"history\": [], \"max_length\": 20}"))
                .build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).has("response")).isTrue();
    }

    private static String log(Path root) {
        try {
            return Files.readString(root.resolve("serve.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    /**
     * Reads a tar stream (ustar, with PAX and GNU long names): into memory when {@code into} is null, else onto
     * disk under {@code into} (files, directories, symlinks; the modes' execute bits).
     */
    static Map<String, byte[]> untar(InputStream in, Path into) throws IOException {
        Map<String, byte[]> out = new HashMap<>();
        byte[] header = new byte[512];
        String longName = null;
        while (in.readNBytes(header, 0, 512) == 512) {
            if (header[0] == 0) break;
            String name = field(header, 0, 100);
            String prefix = field(header, 345, 155);
            if (!prefix.isEmpty()) name = prefix + "/" + name;
            long size = Long.parseLong(field(header, 124, 12).trim().isEmpty() ? "0" : field(header, 124, 12).trim(), 8);
            int mode = Integer.parseInt(field(header, 100, 8).trim().isEmpty() ? "0" : field(header, 100, 8).trim(), 8);
            char type = (char) header[156];
            String link = field(header, 157, 100);
            byte[] data = in.readNBytes((int) size);
            in.skipNBytes((512 - size % 512) % 512);
            if (type == 'x' || type == 'L') {
                String text = new String(data, StandardCharsets.UTF_8);
                if (type == 'L') {
                    longName = text.replace("\0", "");
                } else {
                    for (String rec : text.split("\n")) {
                        int sp = rec.indexOf(' ');
                        if (sp > 0 && rec.startsWith("path=", sp + 1)) longName = rec.substring(sp + 6);
                    }
                }
                continue;
            }
            if (longName != null) {
                name = longName;
                longName = null;
            }
            if (name.startsWith("./")) name = name.substring(2);
            if (into == null) {
                out.put(name, data);
                continue;
            }
            Path target = into.resolve(name).normalize();
            if (!target.startsWith(into)) throw new IOException("entry outside the folder: " + name);
            if (type == '5') {
                Files.createDirectories(target);
            } else if (type == '2') {
                Files.createDirectories(target.getParent());
                Files.deleteIfExists(target);
                Files.createSymbolicLink(target, Path.of(link));
            } else if (type == '0' || type == '\0') {
                Files.createDirectories(target.getParent());
                Files.copy(new java.io.ByteArrayInputStream(data), target, StandardCopyOption.REPLACE_EXISTING);
                if ((mode & 0111) != 0) {
                    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(target);
                    perms.add(PosixFilePermission.OWNER_EXECUTE);
                    Files.setPosixFilePermissions(target, perms);
                }
            }
        }
        return out;
    }

    private static String field(byte[] h, int off, int len) {
        int end = off;
        while (end < off + len && h[end] != 0) end++;
        return new String(h, off, end - off, StandardCharsets.UTF_8);
    }
}
