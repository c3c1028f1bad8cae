package org.chatglm4j.hub;

import org.chatglm4j.ChatGlmException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HubOptionsTest {
    @TempDir
    Path home;

    private HubOptions env(String... keyValues) {
        Map<String, String> env = new java.util.HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) env.put(keyValues[i], keyValues[i + 1]);
        return HubOptions.fromEnvironment(env, home);
    }

    @Test
    void defaultsMatchHuggingFaceHub() {
        HubOptions o = env();
        assertThat(o.endpoint()).isEqualTo(URI.create("https://huggingface.co"));
        assertThat(o.cacheDir()).isEqualTo(home.resolve(".cache/huggingface/hub"));
        assertThat(o.token()).isNull();
        assertThat(o.offline()).isFalse();
        assertThat(o.connectTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(o.readTimeout()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void homeIsTheEnvironmentsHomeLikePythonsExpanduser() {
        assertThat(HubOptions.userHome(Map.of("HOME", "/somewhere/else"))).isEqualTo(Path.of("/somewhere/else"));
        assertThat(HubOptions.userHome(Map.of())).isEqualTo(Path.of(System.getProperty("user.home")));
        assertThat(HubOptions.userHome(Map.of("HOME", " "))).isEqualTo(Path.of(System.getProperty("user.home")));
    }

    @Test
    void cacheFolderPrecedence() {
        assertThat(env("XDG_CACHE_HOME", "/xdg").cacheDir()).isEqualTo(Path.of("/xdg/huggingface/hub"));
        assertThat(env("XDG_CACHE_HOME", "/xdg", "HF_HOME", "/hf").cacheDir()).isEqualTo(Path.of("/hf/hub"));
        assertThat(env("HF_HOME", "/hf", "HUGGINGFACE_HUB_CACHE", "/legacy").cacheDir())
                .isEqualTo(Path.of("/legacy"));
        assertThat(env("HF_HOME", "/hf", "HUGGINGFACE_HUB_CACHE", "/legacy", "HF_HUB_CACHE", "/new").cacheDir())
                .isEqualTo(Path.of("/new"));
        assertThat(env("HF_HUB_CACHE", "~/models").cacheDir()).isEqualTo(home.resolve("models"));
        assertThat(env("HF_HUB_CACHE", "  ").cacheDir()).isEqualTo(home.resolve(".cache/huggingface/hub"));
        assertThatThrownBy(() -> env("HF_HOME", "/a\u0000b"))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith("HF_HOME=/a\u0000b is not a valid path");
    }

    @Test
    void tokenPrecedence() throws IOException {
        Path hfHome = home.resolve(".cache/huggingface");
        Files.createDirectories(hfHome);
        assertThat(env().token()).isNull();

        Files.writeString(hfHome.resolve("token"), "hf_from_login\n");
        assertThat(env().token()).isEqualTo("hf_from_login");

        Path custom = home.resolve("my-token");
        Files.writeString(custom, "  hf_custom  ");
        assertThat(env("HF_TOKEN_PATH", custom.toString()).token()).isEqualTo("hf_custom");
        assertThat(env("HF_TOKEN_PATH", custom.toString(), "HUGGING_FACE_HUB_TOKEN", "hf_legacy").token())
                .isEqualTo("hf_legacy");
        assertThat(env("HUGGING_FACE_HUB_TOKEN", "hf_legacy", "HF_TOKEN", "hf_env").token()).isEqualTo("hf_env");
        assertThat(env("HF_TOKEN_PATH", home.resolve("absent").toString()).token()).isNull();
    }

    @Test
    void tokenFileUnderHfHome() throws IOException {
        Path hf = home.resolve("hf");
        Files.createDirectories(hf);
        Files.writeString(hf.resolve("token"), "hf_x");
        assertThat(env("HF_HOME", hf.toString()).token()).isEqualTo("hf_x");
    }

    @Test
    void oversizedTokenFileIsIgnored() throws IOException {
        Path big = home.resolve("big");
        Files.write(big, new byte[100_000]);
        assertThat(env("HF_TOKEN_PATH", big.toString()).token()).isNull();
    }

    @Test
    void offlineAcceptsTheHuggingFaceTrueValues() {
        for (String v : new String[]{"1", "true", "TRUE", "yes", "On"}) {
            assertThat(env("HF_HUB_OFFLINE", v).offline()).as(v).isTrue();
        }
        for (String v : new String[]{"0", "false", "no", "", "2"}) {
            assertThat(env("HF_HUB_OFFLINE", v).offline()).as(v).isFalse();
        }
        assertThat(env("TRANSFORMERS_OFFLINE", "1").offline()).isTrue();
    }

    @Test
    void endpointIsNormalizedAndChecked() {
        assertThat(env("HF_ENDPOINT", "https://hf-mirror.com/").endpoint())
                .isEqualTo(URI.create("https://hf-mirror.com"));
        assertThat(env("HF_ENDPOINT", "http://10.0.0.1:8080/hub//").endpointText())
                .isEqualTo("http://10.0.0.1:8080/hub");
        assertThatThrownBy(() -> env("HF_ENDPOINT", "ftp://example.org"))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("HF_ENDPOINT=ftp://example.org is not an http(s) URL like https://huggingface.co");
        assertThatThrownBy(() -> env("HF_ENDPOINT", "https://exa mple.org"))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith("HF_ENDPOINT=https://exa mple.org is not a URL");
        assertThatThrownBy(() -> env("HF_ENDPOINT", "https://example.org/?x=1"))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("HF_ENDPOINT=https://example.org/?x=1 must not have a query or fragment");
    }

    @Test
    void timeoutsFromEnvironment() {
        HubOptions o = env("HF_HUB_ETAG_TIMEOUT", "2.5", "HF_HUB_DOWNLOAD_TIMEOUT", "60");
        assertThat(o.connectTimeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(o.readTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThatThrownBy(() -> env("HF_HUB_DOWNLOAD_TIMEOUT", "soon"))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("HF_HUB_DOWNLOAD_TIMEOUT=soon is not a number of seconds between 0 and 86400");
        assertThatThrownBy(() -> env("HF_HUB_ETAG_TIMEOUT", "-1")).isInstanceOf(ChatGlmException.class);
    }

    @Test
    void toStringNeverShowsTheToken() {
        HubOptions o = env("HF_TOKEN", "hf_very_secret");
        assertThat(o.hasToken()).isTrue();
        assertThat(o.toString()).doesNotContain("hf_very_secret").contains("token=***");
        assertThat(o.withToken(" ").hasToken()).isFalse();
    }

    @Test
    void withersReplaceOneField() {
        HubOptions o = HubOptions.of(URI.create("http://127.0.0.1:1"), home);
        assertThat(o.withOffline(true).offline()).isTrue();
        assertThat(o.withMaxRetries(0).maxRetries()).isZero();
        assertThat(o.withCacheDir(home.resolve("c")).cacheDir()).isEqualTo(home.resolve("c"));
        assertThat(o.withEndpoint(URI.create("https://x.org/")).endpointText()).isEqualTo("https://x.org");
        assertThatThrownBy(() -> o.withTimeouts(Duration.ZERO, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> o.withMaxRetries(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}
