package org.chatglm4j.hub;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Local arguments; nothing here may reach a network (the endpoint is a closed loopback port, and offline). */
class ModelLocatorTest {
    @TempDir
    Path tmp;

    private HubOptions offline() {
        return HubOptions.of(URI.create("http://127.0.0.1:9"), tmp.resolve("cache")).withOffline(true);
    }

    private Path resolve(String arg) {
        return ModelLocator.resolve(arg, "main", offline(), DownloadListener.NONE);
    }

    @Test
    void anExistingFolderIsUsedAsItIs() {
        Path folder = Fixtures.path("model_a/checkpoint");
        assertThat(resolve(folder.toString())).isEqualTo(folder.toAbsolutePath().normalize());
        assertThat(resolve(folder + "/../checkpoint")).isEqualTo(folder.toAbsolutePath().normalize());
        assertThat(Files.exists(tmp.resolve("cache"))).isFalse();
    }

    @Test
    void aSingleFileModelIsReturnedForItsLoader() throws IOException {
        Path file = Files.writeString(tmp.resolve("model.cglm"), "x");
        assertThat(resolve(file.toString())).isEqualTo(file);
        Path upper = Files.writeString(tmp.resolve("MODEL.CGLM"), "x");
        assertThat(resolve(upper.toString())).isEqualTo(upper);
    }

    @Test
    void anyOtherFileIsAnError() {
        Path bin = Fixtures.path("model_a/checkpoint/pytorch_model.bin");
        assertThatThrownBy(() -> resolve(bin.toString()))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage(bin + " is a file, not a model folder: pass the folder holding config.json, the "
                        + "tokenizer and the weights, or a Hugging Face repo id like THUDM/chatglm-6b");
    }

    @Test
    void aMissingFolderThatIsNoRepoIdIsAnError() {
        String arg = tmp.resolve("no/such/folder").toString();
        assertThatThrownBy(() -> resolve(arg))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("model folder " + arg + " does not exist (and it is not a Hugging Face repo id like "
                        + "THUDM/chatglm-6b)");
        assertThatThrownBy(() -> resolve("  ")).isInstanceOf(ChatGlmException.class).hasMessage("no model given");
    }

    @Test
    void aRepoIdGoesToTheCache() {
        assertThatThrownBy(() -> resolve("THUDM/chatglm-6b"))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("THUDM/chatglm-6b@main is not in the Hugging Face cache " + tmp.resolve("cache")
                        + " and HF_HUB_OFFLINE is set: unset it to download http://127.0.0.1:9/THUDM/chatglm-6b into the"
                        + " cache, or download that repository elsewhere and pass its folder with --model");
        assertThatThrownBy(() -> ModelLocator.resolve("THUDM/chatglm-6b", null, offline(), null))
                .hasMessageStartingWith("THUDM/chatglm-6b@main is not in");
    }

    @Test
    void aBadRevisionIsRefusedBeforeAnythingElse() {
        assertThatThrownBy(() -> ModelLocator.resolve("THUDM/chatglm-6b", "../../etc", offline(),
                DownloadListener.NONE))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("revision '../../etc' is not a valid branch, tag or commit name");
    }

    @Test
    void aCompleteCachedSnapshotIsFoundByCommitOrRef() throws IOException {
        String commit = "0123456789abcdef0123456789abcdef01234567";
        HubCache cache = new HubCache(tmp.resolve("cache"), new RepoId("THUDM", "chatglm-6b"), true);
        Path snapshot = cache.snapshotDir(commit);
        Files.createDirectories(snapshot);
        Path checkpoint = Fixtures.path("model_a/checkpoint");
        try (var s = Files.list(checkpoint)) {
            for (Path f : s.toList()) Files.createSymbolicLink(snapshot.resolve(f.getFileName()), f);
        }
        assertThat(ModelLocator.resolve("THUDM/chatglm-6b", commit, offline(), DownloadListener.NONE))
                .isEqualTo(snapshot);
        cache.writeRef("v1.0", commit);
        assertThat(ModelLocator.resolve("THUDM/chatglm-6b", "v1.0", offline(), DownloadListener.NONE))
                .isEqualTo(snapshot);
    }
}
