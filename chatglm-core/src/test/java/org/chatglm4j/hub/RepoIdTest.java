package org.chatglm4j.hub;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RepoIdTest {
    @Test
    void parsesOwnerSlashName() {
        RepoId id = RepoId.parse("THUDM/chatglm-6b").orElseThrow();
        assertThat(id.owner()).isEqualTo("THUDM");
        assertThat(id.name()).isEqualTo("chatglm-6b");
        assertThat(id).hasToString("THUDM/chatglm-6b");
        assertThat(id.cacheFolderName()).isEqualTo("models--THUDM--chatglm-6b");
        assertThat(RepoId.parse("a/b")).isPresent();
        assertThat(RepoId.parse("user_1/model.v2-int4")).isPresent();
        assertThat(RepoId.parse("o/" + "n".repeat(96))).isPresent();
    }

    @Test
    void rejectsWhatIsNotARepoId() {
        for (String s : new String[]{"", "chatglm-6b", "/a", "a/", "a/b/c", "./a", "../a", ".a/b", "a/b.",
                "-a/b", "a/b-", "a--b/c", "a/b..c", "C:/models", "a b/c", "a/b\n", "o/" + "n".repeat(97),
                "models\\chatglm"}) {
            assertThat(RepoId.parse(s)).as(s).isEmpty();
        }
        assertThat(RepoId.parse(null)).isEmpty();
        assertThatThrownBy(() -> new RepoId("a", "..")).isInstanceOf(IllegalArgumentException.class);
    }
}
