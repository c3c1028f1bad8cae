package org.chatglm4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real {@code bin/test} on a machine that lacks what the suite needs: it names every missing package in one
 * line and stops before building; with everything present it goes straight to Maven. The machine is simulated by
 * a PATH holding only the basic tools plus fakes (of Maven too, so that nothing is built here).
 */
class BinTestDepsTest {
    static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    static final List<String> BASICS = List.of("bash", "env", "dirname", "readlink", "sed", "head", "grep", "id", "cat");

    static Path machine(Path dir, String... present) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        for (String tool : BASICS) {
            Path real = Path.of("/usr/bin", tool);
            if (!Files.exists(real)) real = Path.of("/bin", tool);
            Files.createSymbolicLink(bin.resolve(tool), real);
        }
        script(bin.resolve("mvn"), "#!/bin/sh\necho \"mvn $*\" > '" + dir.resolve("mvn-ran") + "'\n");
        for (String p : present) script(bin.resolve(p), p.equals("fc-list") ? "#!/bin/sh\necho 'WenQuanYi Micro Hei'\n" : "#!/bin/sh\nexit 0\n");
        return bin;
    }

    static void script(Path p, String text) throws IOException {
        Files.writeString(p, text);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    record Run(int exit, String err) {
    }

    static Run binTest(Path dir, Path bin) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(bin.resolve("bash").toString(), ROOT.resolve("bin/test").toString(), "-q")
                .directory(dir.toFile());
        pb.environment().clear();
        pb.environment().put("PATH", bin.toString());
        pb.environment().put("HOME", dir.toString());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Path err = dir.resolve("err.txt");
        pb.redirectErrorStream(false).redirectError(err.toFile()).redirectOutput(dir.resolve("out.txt").toFile());
        Process p = pb.start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), Files.readString(err));
    }

    @Test
    void aFreshMachineIsToldInOneLineWhatToInstallAndNothingIsBuilt(@TempDir Path dir) throws Exception {
        Run r = binTest(dir, machine(dir));
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err().lines()).hasSize(1);
        assertThat(r.err()).startsWith("bin/test: error: the test suite needs chromium chromium-driver "
                + "fonts-wqy-microhei python3-torch nodejs npm");
        assertThat(dir.resolve("mvn-ran")).doesNotExist();
    }

    @Test
    void withEverythingPresentItGoesStraightToMaven(@TempDir Path dir) throws Exception {
        Run r = binTest(dir, machine(dir, "chromium", "chromedriver", "fc-list", "python3", "node", "npm"));
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(Files.readString(dir.resolve("mvn-ran"))).isEqualTo("mvn -B test -q\n");
    }
}
