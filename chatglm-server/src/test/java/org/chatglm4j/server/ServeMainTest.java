package org.chatglm4j.server;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ServeMainTest {

    @Test
    void defaults() {
        ServeMain.Parsed p = ServeMain.parse(new String[]{"--model", "/m"}, null);
        assertThat(p.model()).isEqualTo(Path.of("/m"));
        assertThat(p.options()).isEqualTo(ServerOptions.defaults());
        assertThat(p.load().ptuning()).isNull();
    }

    @Test
    void everyOption() {
        ServeMain.Parsed p = ServeMain.parse(new String[]{"--model=/m", "--host", "0.0.0.0", "--port", "0", "--api-key", "k",
                "--max-concurrency", "4", "--max-queue=9", "--timeout", "30", "--max-body", "2048", "--model-name", "glm",
                "--threads", "3", "--ptuning", "/p"}, null);
        ServerOptions o = p.options();
        assertThat(o).isEqualTo(new ServerOptions("0.0.0.0", 0, "k", 4, 9, Duration.ofSeconds(30), 2048, "glm"));
        assertThat(p.load().threads()).isEqualTo(3);
        assertThat(p.load().ptuning()).isEqualTo(Path.of("/p"));
    }

    @Test
    void batchingLeavesAdmissionToTheEngine() {
        ServeMain.Parsed p = ServeMain.parse(new String[]{"--model", "/m", "--batch", "8", "--max-queue", "20"}, null);
        assertThat(p.batch()).isEqualTo(8);
        assertThat(p.options().maxConcurrency()).isZero();
        assertThat(p.options().maxQueue()).isEqualTo(20);
        assertThat(ServeMain.parse(new String[]{"--model", "/m"}, null).batch()).isZero();
        assertThatThrownBy(() -> ServeMain.parse(new String[]{"--model", "/m", "--batch", "-1"}, null)).hasMessageContaining("--batch must be >= 0");
    }

    @Test
    void apiKeyFromTheEnvironmentUnlessGiven() {
        assertThat(ServeMain.parse(new String[]{"--model", "/m"}, "envkey").options().apiKey()).isEqualTo("envkey");
        assertThat(ServeMain.parse(new String[]{"--model", "/m", "--api-key", "arg"}, "envkey").options().apiKey()).isEqualTo("arg");
        assertThat(ServeMain.parse(new String[]{"--model", "/m"}, " ").options().apiKey()).isNull();
    }

    @Test
    void helpAndMistakes() {
        assertThat(ServeMain.parse(new String[]{"--help"}, null)).isNull();
        assertThatThrownBy(() -> ServeMain.parse(new String[]{}, null)).hasMessageContaining("--model DIR is required");
        assertThatThrownBy(() -> ServeMain.parse(new String[]{"--model"}, null)).hasMessageContaining("--model needs a value");
        assertThatThrownBy(() -> ServeMain.parse(new String[]{"--model", "/m", "--colour", "red"}, null)).hasMessageContaining("unknown option --colour");
        assertThatThrownBy(() -> ServeMain.parse(new String[]{"--model", "/m", "--port", "80a"}, null)).hasMessageContaining("--port needs a whole number");
        assertThatThrownBy(() -> ServeMain.parse(new String[]{"--model", "/m", "--port", "70000"}, null)).hasMessageContaining("port must be 0..65535");
        assertThatThrownBy(() -> ServeMain.parse(new String[]{"--model", "/m", "--timeout", "0"}, null)).hasMessageContaining("timeout must be positive");
        assertThatThrownBy(() -> ServeMain.parse(new String[]{"--model", "/m", "--max-queue", "-1"}, null)).hasMessageContaining("max queue");
    }

    @Test
    void startFailsCleanlyWhenThePortIsTaken() throws Exception {
        try (ChatServer first = ChatServer.start(ServerOptions.defaults().withPort(0), Fixture.model())) {
            assertThatThrownBy(() -> ChatServer.start(ServerOptions.defaults().withPort(first.port()), Fixture.model()))
                    .isInstanceOf(java.io.IOException.class);
        }
    }

    @Test
    void allowedOriginsAndConnectionLimitAreOptions() {
        ServeMain.Parsed p = ServeMain.parse(new String[]{"--model", "/m", "--allowed-origin", "https://a.example",
                "--allowed-origin=http://b.example:3000", "--max-connections", "64"}, null);
        assertThat(p.options().limits().allowedOrigins()).containsExactly("https://a.example", "http://b.example:3000");
        assertThat(p.options().limits().maxConnections()).isEqualTo(64);
        assertThatThrownBy(() -> ServeMain.parse(new String[]{"--model", "/m", "--allowed-origin", "a.example/x"}, null))
                .hasMessageContaining("scheme://host");
    }
}
