package org.chatglm4j.hub;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class HubClientTest {
    @Test
    void etagsLoseQuotesAndTheWeakMarker() {
        assertThat(HubClient.normalizeEtag("\"abc\"")).isEqualTo("abc");
        assertThat(HubClient.normalizeEtag("W/\"abc\"")).isEqualTo("abc");
        assertThat(HubClient.normalizeEtag(" abc ")).isEqualTo("abc");
    }

    @Test
    void pathSegmentsArePercentEncoded() {
        assertThat(HubClient.encode("refs/pr/1")).isEqualTo("refs%2Fpr%2F1");
        assertThat(HubClient.encode("model-00001.bin")).isEqualTo("model-00001.bin");
        assertThat(HubClient.encode("a b?#ü")).isEqualTo("a%20b%3F%23%C3%BC");
    }

    @Test
    void describeFindsTheUsefulReason() {
        IOException refused = new ConnectException();
        refused.initCause(new ClosedChannelException());
        assertThat(HubClient.describe(refused)).isEqualTo("Connection refused");
        IOException unresolved = new ConnectException();
        unresolved.initCause(new UnresolvedAddressException());
        assertThat(HubClient.describe(unresolved)).isEqualTo("unknown host");
        assertThat(HubClient.describe(new IOException("closed", new IOException("EOF reached\nwhile reading"))))
                .isEqualTo("EOF reached while reading");
        assertThat(HubClient.describe(new IOException())).isEqualTo("IOException");
    }

    @Test
    void originsCompareSchemeHostAndPort() {
        URI hub = URI.create("https://huggingface.co");
        assertThat(HubClient.sameOrigin(URI.create("https://huggingface.co:443/x"), hub)).isTrue();
        assertThat(HubClient.sameOrigin(URI.create("https://HuggingFace.co/x"), hub)).isTrue();
        assertThat(HubClient.sameOrigin(URI.create("https://cdn-lfs.huggingface.co/x"), hub)).isFalse();
        assertThat(HubClient.sameOrigin(URI.create("http://huggingface.co/x"), hub)).isFalse();
        assertThat(HubClient.sameOrigin(URI.create("https://huggingface.co:8443/x"), hub)).isFalse();
    }

    @Test
    void secondsAndOneLine() {
        assertThat(HubClient.seconds(Duration.ofSeconds(10))).isEqualTo("10 s");
        assertThat(HubClient.seconds(Duration.ofMillis(300))).isEqualTo("0.3 s");
        assertThat(HubClient.oneLine("a\r\nb\tc", 10)).isEqualTo("a b c");
        assertThat(HubClient.oneLine("x".repeat(20), 10)).isEqualTo("x".repeat(10) + "...");
    }
}
