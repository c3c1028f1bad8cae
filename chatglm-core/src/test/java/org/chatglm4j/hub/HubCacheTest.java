package org.chatglm4j.hub;

import org.chatglm4j.ChatGlmException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HubCacheTest {
    private static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    @TempDir
    Path root;

    private HubCache cache() {
        return new HubCache(root, new RepoId("THUDM", "chatglm-6b"), true);
    }

    @Test
    void layoutFollowsHuggingFaceHub() {
        HubCache c = cache();
        Path repo = root.resolve("models--THUDM--chatglm-6b");
        assertThat(c.repoDir()).isEqualTo(repo);
        assertThat(c.blob("abc")).isEqualTo(repo.resolve("blobs/abc"));
        assertThat(c.incomplete("abc")).isEqualTo(repo.resolve("blobs/abc.incomplete"));
        assertThat(c.snapshotDir(COMMIT)).isEqualTo(repo.resolve("snapshots/" + COMMIT));
        assertThat(c.lockFile("abc")).isEqualTo(root.resolve(".locks/models--THUDM--chatglm-6b/abc.lock"));
    }

    @Test
    void refsRoundTripIncludingNestedRevisions() throws IOException {
        HubCache c = cache();
        assertThat(c.readRef("main")).isEmpty();
        c.writeRef("main", COMMIT);
        c.writeRef("refs/pr/1", COMMIT);
        assertThat(c.readRef("main")).contains(COMMIT);
        assertThat(c.readRef("refs/pr/1")).contains(COMMIT);
        assertThat(Files.readString(c.repoDir().resolve("refs/refs/pr/1"))).isEqualTo(COMMIT);
        try (var s = Files.list(c.repoDir().resolve("refs"))) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("main", "refs");
        }
    }

    @Test
    void aGarbageRefIsIgnored() throws IOException {
        HubCache c = cache();
        Files.createDirectories(c.repoDir().resolve("refs"));
        Files.writeString(c.repoDir().resolve("refs/main"), "not a commit");
        assertThat(c.readRef("main")).isEmpty();
        Files.writeString(c.repoDir().resolve("refs/main"), COMMIT.toUpperCase() + "\n");
        assertThat(c.readRef("main")).contains(COMMIT);
    }

    @Test
    void revisionsThatCouldEscapeRefsAreRefused() {
        for (String bad : new String[]{"", "..", "../x", "a/../../b", "/abs", "a//b", "a/", "a\\b", "c:x", "a\nb",
                "x".repeat(256)}) {
            assertThatThrownBy(() -> HubCache.checkRevision(bad)).as(bad).isInstanceOf(ChatGlmException.class)
                    .hasMessageNotContaining("\n");
        }
        HubCache.checkRevision("main");
        HubCache.checkRevision("v1.0");
        HubCache.checkRevision("refs/pr/12");
        HubCache.checkRevision(COMMIT);
    }

    @Test
    void linkIsRelativeAndReplacesAnOldOne() throws IOException {
        HubCache c = cache();
        Files.createDirectories(c.blobsDir());
        Files.writeString(c.blob("one"), "1");
        Files.writeString(c.blob("two"), "2");
        c.link(COMMIT, "config.json", c.blob("one"));
        c.link(COMMIT, "config.json", c.blob("two"));
        Path link = c.snapshotDir(COMMIT).resolve("config.json");
        assertThat(Files.readSymbolicLink(link)).isEqualTo(Path.of("../../blobs/two"));
        assertThat(Files.readString(link)).isEqualTo("2");
        try (var s = Files.list(c.snapshotDir(COMMIT))) {
            assertThat(s).hasSize(1); // no temporary names left behind
        }
    }

    @Test
    void withoutSymlinksTheBlobIsCopied() throws IOException {
        HubCache c = new HubCache(root, new RepoId("a", "b"), false);
        Files.createDirectories(c.blobsDir());
        Files.writeString(c.blob("one"), "1");
        c.link(COMMIT, "config.json", c.blob("one"));
        Path file = c.snapshotDir(COMMIT).resolve("config.json");
        assertThat(Files.isSymbolicLink(file)).isFalse();
        assertThat(Files.readString(file)).isEqualTo("1");
    }

    @Test
    void commitHashes() {
        assertThat(HubCache.isCommitHash(COMMIT)).isTrue();
        assertThat(HubCache.isCommitHash("main")).isFalse();
        assertThat(HubCache.isCommitHash(COMMIT.toUpperCase())).isFalse();
        assertThat(HubCache.isCommitHash(COMMIT.substring(1))).isFalse();
    }
}
