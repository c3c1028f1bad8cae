package org.chatglm4j.hub;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** End-to-end hub downloads against {@link FakeHub}; nothing here leaves the loopback interface. */
class HubDownloadTest {
    private static final String REPO = "THUDM/chatglm-6b";
    private static final String COMMIT = "8b7d33596d18c5e83e2da052d05ca4db02e60620";
    private static final String CACHE_FOLDER = "models--THUDM--chatglm-6b";

    @TempDir
    Path cache;

    private FakeHub hub;
    private Map<String, byte[]> files;

    @BeforeEach
    void startHub() throws IOException {
        hub = FakeHub.start();
        files = FakeHub.filesOf(Fixtures.path("model_a/checkpoint"));
        files.put("modeling_chatglm.py", "raise SystemExit('must never be fetched')\n".getBytes());
        files.put("README.md", "# model\n".getBytes());
        hub.addRepo(REPO, COMMIT, files, false);
    }

    @AfterEach
    void stopHub() {
        hub.close();
    }

    private HubOptions options() {
        return HubOptions.of(hub.endpoint(), cache)
                .withTimeouts(Duration.ofSeconds(5), Duration.ofSeconds(5))
                .withProgressInterval(Duration.ZERO);
    }

    private Path resolve(HubOptions options) {
        return ModelLocator.resolve(REPO, "main", options, DownloadListener.NONE);
    }

    @Test
    void freshDownloadLandsInTheHuggingFaceCacheLayout() throws IOException {
        Path snapshot = resolve(options());

        Path repoDir = cache.resolve(CACHE_FOLDER);
        assertThat(snapshot).isEqualTo(repoDir.resolve("snapshots").resolve(COMMIT));
        assertThat(Files.readString(repoDir.resolve("refs/main"))).isEqualTo(COMMIT);
        for (String name : List.of("config.json", "tokenizer_config.json", "ice_text.model", "pytorch_model.bin")) {
            Path link = snapshot.resolve(name);
            assertThat(Files.isSymbolicLink(link)).as(name).isTrue();
            byte[] content = files.get(name);
            String etag = FakeHub.isLfs(name) ? FakeHub.sha256(content) : FakeHub.gitSha1(content);
            assertThat(Files.readSymbolicLink(link)).isEqualTo(Path.of("../../blobs/" + etag));
            assertThat(Files.readAllBytes(link)).as(name).isEqualTo(content);
            assertThat(Files.readAllBytes(Fixtures.path("model_a/checkpoint/" + name))).isEqualTo(content);
        }
        try (Stream<Path> s = Files.list(snapshot)) {
            assertThat(s.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("config.json", "tokenizer_config.json", "ice_text.model",
                            "pytorch_model.bin");
        }
        try (Stream<Path> s = Files.list(repoDir.resolve("blobs"))) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".incomplete"));
        }
        assertThat(hub.requestsFor("modeling_chatglm.py")).isEmpty();
        assertThat(hub.requestsFor("README.md")).isEmpty();
        assertThat(hub.served("pytorch_model.bin")).isEqualTo(files.get("pytorch_model.bin").length);
        assertThat(hub.cdnAuthorizations).isEmpty();
    }

    @Test
    void secondResolveUsesTheCacheWithoutNetwork() {
        Path first = resolve(options());
        hub.close();

        assertThat(resolve(options())).isEqualTo(first);
        // pinned to the commit, too
        assertThat(ModelLocator.resolve(REPO, COMMIT, options(), DownloadListener.NONE)).isEqualTo(first);
    }

    @Test
    void offlineUsesTheCacheAndNeverTheNetwork() {
        Path first = resolve(options());
        int requests = hub.requests.size();

        assertThat(resolve(options().withOffline(true))).isEqualTo(first);
        assertThat(hub.requests).hasSize(requests);
    }

    @Test
    void offlineWithoutCacheFailsWithOneLine() {
        assertThatThrownBy(() -> resolve(options().withOffline(true)))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageContaining(REPO + "@main is not in the Hugging Face cache " + cache)
                .hasMessageContaining("HF_HUB_OFFLINE")
                .hasMessageNotContaining("\n");
        assertThat(hub.requests).isEmpty();
    }

    @Test
    void offlineWithIncompleteSnapshotNamesWhatIsMissing() throws IOException {
        Path snapshot = resolve(options());
        Files.delete(snapshot.resolve("ice_text.model"));

        assertThatThrownBy(() -> resolve(options().withOffline(true)))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageContaining("lacks ice_text.model");
    }

    @Test
    void incompleteSnapshotIsCompletedOnlineWithoutFetchingPresentFiles() throws IOException {
        Path snapshot = resolve(options());
        Files.delete(snapshot.resolve("ice_text.model"));
        long servedBefore = hub.served("pytorch_model.bin");
        long modelServed = hub.served("ice_text.model");

        assertThat(resolve(options())).isEqualTo(snapshot);
        assertThat(Files.readAllBytes(snapshot.resolve("ice_text.model"))).isEqualTo(files.get("ice_text.model"));
        assertThat(hub.served("pytorch_model.bin")).isEqualTo(servedBefore);
        // the blob was still in the cache: only the link was missing
        assertThat(hub.served("ice_text.model")).isEqualTo(modelServed);
    }

    @Test
    void droppedConnectionIsResumedAndTransfersOnlyTheRest() throws IOException {
        int size = files.get("pytorch_model.bin").length;
        hub.faultFile = "pytorch_model.bin";
        hub.dropOnceAfterBytes = 200_000;
        List<String> messages = new ArrayList<>();

        Path snapshot = ModelLocator.resolve(REPO, "main", options(), new DownloadListener() {
            @Override
            public void message(String text) {
                messages.add(text);
            }
        });

        assertThat(Files.readAllBytes(snapshot.resolve("pytorch_model.bin"))).isEqualTo(files.get("pytorch_model.bin"));
        // the resume starts where the kept bytes end: at most the 200 000 sent (TCP may lose a few in flight when the
        // server drops the connection), and only the rest is sent again
        List<Long> starts = hub.bodyStarts.get("pytorch_model.bin");
        assertThat(starts).hasSize(2);
        assertThat(starts.getFirst()).isZero();
        assertThat(starts.get(1)).isPositive().isLessThanOrEqualTo(200_000L);
        assertThat(hub.served("pytorch_model.bin")).isEqualTo(200_000L + (size - starts.get(1)));
        assertThat(hub.requestsFor("pytorch_model.bin").stream().filter(r -> r.contains("cdn"))).hasSize(2);
        // the signed CDN location is asked for again before the resume: for the total, the transfer, the resume
        assertThat(hub.requestsFor("pytorch_model.bin").stream().filter(r -> r.startsWith("HEAD "))).hasSize(3);
        assertThat(messages).anyMatch(m -> m.startsWith("pytorch_model.bin: ") && m.endsWith("resuming"));
    }

    @Test
    void partialFileFromAnEarlierRunIsResumed() throws IOException {
        byte[] content = files.get("pytorch_model.bin");
        Path part = cache.resolve(CACHE_FOLDER).resolve("blobs").resolve(FakeHub.sha256(content) + ".incomplete");
        Files.createDirectories(part.getParent());
        Files.write(part, Arrays.copyOf(content, 123_457));
        List<long[]> started = new ArrayList<>();

        Path snapshot = ModelLocator.resolve(REPO, "main", options(), new DownloadListener() {
            @Override
            public void fileStarted(String file, long totalBytes, long resumedFrom) {
                if (file.equals("pytorch_model.bin")) started.add(new long[]{totalBytes, resumedFrom});
            }
        });

        assertThat(Files.readAllBytes(snapshot.resolve("pytorch_model.bin"))).isEqualTo(content);
        assertThat(hub.served("pytorch_model.bin")).isEqualTo(content.length - 123_457);
        assertThat(started).containsExactly(new long[]{content.length, 123_457});
        assertThat(part).doesNotExist();
    }

    @Test
    void serverIgnoringRangeRestartsFromZero() throws IOException {
        byte[] content = files.get("pytorch_model.bin");
        Path part = cache.resolve(CACHE_FOLDER).resolve("blobs").resolve(FakeHub.sha256(content) + ".incomplete");
        Files.createDirectories(part.getParent());
        // a stale prefix that would corrupt the file if the 200 answer were appended to it
        Files.write(part, new byte[50_000]);
        hub.faultFile = "pytorch_model.bin";
        hub.ignoreRange = true;

        Path snapshot = resolve(options());

        assertThat(Files.readAllBytes(snapshot.resolve("pytorch_model.bin"))).isEqualTo(content);
        assertThat(hub.served("pytorch_model.bin")).isEqualTo(content.length);
    }

    @Test
    void checksumMismatchDeletesTheDownloadAndLeavesNoBlobOrLink() throws IOException {
        String badFile = "pytorch_model.bin";
        hub.faultFile = badFile;
        hub.corrupt = true;
        String sha256 = FakeHub.sha256(files.get(badFile));

        assertThatThrownBy(() -> resolve(options()))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith("checksum mismatch for pytorch_model.bin of " + REPO + ": sha256 ")
                .hasMessageEndingWith(" but the hub says " + sha256 + "; the download was deleted, run again")
                .hasMessageNotContaining("\n");

        Path repoDir = cache.resolve(CACHE_FOLDER);
        String sha = FakeHub.sha256(files.get(badFile));
        assertThat(repoDir.resolve("blobs").resolve(sha)).doesNotExist();
        assertThat(repoDir.resolve("blobs").resolve(sha + ".incomplete")).doesNotExist();
        assertThat(repoDir.resolve("snapshots").resolve(COMMIT).resolve(badFile)).doesNotExist();
    }

    @Test
    void unknownRepoIsAOneLineError() {
        assertThatThrownBy(() -> ModelLocator.resolve("nobody/nothing", "main", options(), DownloadListener.NONE))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("repository nobody/nothing not found on " + hub.endpoint()
                        + " (if it is private, set HF_TOKEN) (HTTP 404)");
    }

    @Test
    void unknownRevisionIsAOneLineError() {
        assertThatThrownBy(() -> ModelLocator.resolve(REPO, "v9", options(), DownloadListener.NONE))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage(REPO + " has no revision 'v9' on " + hub.endpoint() + " (HTTP 404)");
    }

    @Test
    void gatedRepoWithoutTokenSaysHowToGetAccess() {
        hub.addRepo("gated/model", COMMIT, files, true);
        hub.requiredToken = "hf_secret";

        assertThatThrownBy(() -> ModelLocator.resolve("gated/model", "main", options(), DownloadListener.NONE))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("gated/model is a gated repository: accept its conditions at " + hub.endpoint()
                        + "/gated/model, then set HF_TOKEN to an access token (HTTP 401)");
        assertThatThrownBy(() -> ModelLocator.resolve("gated/model", "main", options().withToken("hf_wrong"),
                DownloadListener.NONE))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageContaining("the token in use (HF_TOKEN) has no access")
                .hasMessageNotContaining("hf_wrong");
    }

    @Test
    void gatedRepoWithTokenDownloadsAndNeverSendsTheTokenToTheCdn() throws IOException {
        hub.addRepo("gated/model", COMMIT, files, true);
        hub.requiredToken = "hf_secret";

        Path snapshot = ModelLocator.resolve("gated/model", "main", options().withToken("hf_secret"),
                DownloadListener.NONE);

        assertThat(Files.readAllBytes(snapshot.resolve("pytorch_model.bin"))).isEqualTo(files.get("pytorch_model.bin"));
        assertThat(hub.cdnAuthorizations).isEmpty();
    }

    @Test
    void unreachableEndpointIsAOneLineError() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        URI closed = URI.create("http://127.0.0.1:" + port);

        assertThatThrownBy(() -> resolve(options().withEndpoint(closed)))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith("cannot reach " + closed + " for " + REPO + ": ")
                .hasMessageEndingWith(" (download " + closed + "/" + REPO + " on a machine that can, and pass its folder"
                        + " with --model; or set HF_ENDPOINT to a mirror)")
                .hasMessageNotContaining("\n")
                .hasMessageNotContaining("null");
    }

    @Test
    void stalledTransferTimesOutWithAOneLineError() {
        hub.faultFile = "pytorch_model.bin";
        hub.stallAtByte = 10_000;
        HubOptions options = options().withTimeouts(Duration.ofSeconds(5), Duration.ofMillis(300)).withMaxRetries(1);
        long t0 = System.nanoTime();

        assertThatThrownBy(() -> resolve(options))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("download of pytorch_model.bin of " + REPO + " stopped at 9.8 KiB of 646.9 KiB: "
                        + "no data for 0.3 s; run again to resume");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void shardedRepoDownloadsIndexAndAllShards() throws IOException {
        Map<String, byte[]> sharded = FakeHub.filesOf(Fixtures.path("model_a/checkpoint_sharded"));
        sharded.put("ice_text.model", files.get("ice_text.model"));
        sharded.put("tokenizer_config.json", files.get("tokenizer_config.json"));
        sharded.put("quantization.py", "import os\n".getBytes());
        hub.addRepo("oracle/sharded", COMMIT, sharded, false);

        Path snapshot = ModelLocator.resolve("oracle/sharded", "main", options(), DownloadListener.NONE);

        for (String name : List.of("pytorch_model.bin.index.json", "pytorch_model-00001-of-00002.bin",
                "pytorch_model-00002-of-00002.bin", "config.json")) {
            assertThat(Files.readAllBytes(snapshot.resolve(name))).as(name)
                    .isEqualTo(Files.readAllBytes(Fixtures.path("model_a/checkpoint_sharded/" + name)));
        }
        assertThat(hub.requestsFor("quantization.py")).isEmpty();
        assertThat(ModelFiles.missing(snapshot)).isEmpty();
    }

    @Test
    void indexNamingAShardTheRepoLacksIsAnError() {
        Map<String, byte[]> sharded = FakeHub.filesOf(Fixtures.path("model_a/checkpoint_sharded"));
        sharded.remove("pytorch_model-00002-of-00002.bin");
        sharded.put("ice_text.model", files.get("ice_text.model"));
        sharded.put("tokenizer_config.json", files.get("tokenizer_config.json"));
        hub.addRepo("oracle/broken", COMMIT, sharded, false);

        assertThatThrownBy(() -> ModelLocator.resolve("oracle/broken", "main", options(), DownloadListener.NONE))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("pytorch_model.bin.index.json of oracle/broken@main names the shard "
                        + "pytorch_model-00002-of-00002.bin, which the repository does not have");
    }

    @Test
    void safetensorsArePreferredOverPytorchBin() throws IOException {
        Map<String, byte[]> both = new LinkedHashMap<>(files);
        both.putAll(FakeHub.filesOf(Fixtures.path("model_a/checkpoint_safetensors")));
        hub.addRepo("oracle/both", COMMIT, both, false);

        Path snapshot = ModelLocator.resolve("oracle/both", "main", options(), DownloadListener.NONE);

        assertThat(Files.readAllBytes(snapshot.resolve("model.safetensors")))
                .isEqualTo(Files.readAllBytes(Fixtures.path("model_a/checkpoint_safetensors/model.safetensors")));
        assertThat(snapshot.resolve("pytorch_model.bin")).doesNotExist();
        assertThat(hub.requestsFor("pytorch_model.bin")).isEmpty();
    }

    @Test
    void repoWithoutTokenizerIsNotAChatGlmRepo() {
        Map<String, byte[]> noTokenizer = FakeHub.filesOf(Fixtures.path("model_a/checkpoint_safetensors"));
        hub.addRepo("oracle/bare", COMMIT, noTokenizer, false);

        assertThatThrownBy(() -> ModelLocator.resolve("oracle/bare", "main", options(), DownloadListener.NONE))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("oracle/bare@main is not a ChatGLM model repository: it has no "
                        + "tokenizer_config.json, ice_text.model or tokenizer.model");
        assertThat(hub.requests).noneMatch(r -> r.contains("/resolve/"));
    }

    @Test
    void progressIsMonotoneAndEndsAtTheTotal() {
        Map<String, List<Long>> progress = new LinkedHashMap<>();
        Map<String, Long> totals = new LinkedHashMap<>();
        List<String> done = new ArrayList<>();

        ModelLocator.resolve(REPO, "main", options(), new DownloadListener() {
            @Override
            public void fileStarted(String file, long totalBytes, long resumedFrom) {
                totals.put(file, totalBytes);
                progress.put(file, new ArrayList<>(List.of(resumedFrom)));
            }

            @Override
            public void progress(String file, long bytesDone, long totalBytes) {
                assertThat(totalBytes).isEqualTo(totals.get(file));
                progress.get(file).add(bytesDone);
            }

            @Override
            public void fileDone(String file, long totalBytes) {
                done.add(file);
            }
        });

        assertThat(done).containsExactlyInAnyOrder("config.json", "tokenizer_config.json", "ice_text.model",
                "pytorch_model.bin");
        for (String file : done) {
            List<Long> seen = progress.get(file);
            assertThat(seen).as(file).isSorted();
            assertThat(seen.getLast()).as(file).isEqualTo(files.get(file).length);
            assertThat(totals.get(file)).isEqualTo(files.get(file).length);
        }
        assertThat(progress.get("pytorch_model.bin").size()).isGreaterThan(2);
    }

    @Test
    void copiesInsteadOfLinkingWhereSymlinksAreUnavailable() throws IOException {
        Path snapshot = ModelLocator.resolve(REPO, "main", options(), DownloadListener.NONE, false);

        assertThat(Files.isSymbolicLink(snapshot.resolve("pytorch_model.bin"))).isFalse();
        assertThat(Files.readAllBytes(snapshot.resolve("pytorch_model.bin"))).isEqualTo(files.get("pytorch_model.bin"));
        hub.close();
        assertThat(resolve(options())).isEqualTo(snapshot);
    }

    @Test
    void moreBytesThanAnnouncedIsAnErrorAndLeavesNothing() throws IOException {
        hub.linkedSizeDelta = -1000;

        assertThatThrownBy(() -> resolve(options()))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("127.0.0.1 sent more than the " + (files.get("ice_text.model").length - 1000)
                        + " bytes announced for ice_text.model of " + REPO + "; the download was deleted");
        try (Stream<Path> s = Files.list(cache.resolve(CACHE_FOLDER).resolve("blobs"))) {
            assertThat(s.map(p -> p.getFileName().toString()))
                    .noneMatch(n -> n.startsWith(FakeHub.sha256(files.get("ice_text.model"))));
        }
    }

    @Test
    void missingEtagIsAnError() {
        hub.omitEtags = true;

        assertThatThrownBy(() -> resolve(options()))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage(hub.endpoint() + " sent no ETag for config.json of " + REPO + ", so it cannot be cached");
    }

    @Test
    void serverErrorsSayToTryAgainLater() {
        hub.apiStatus = 503;
        assertThatThrownBy(() -> resolve(options()))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage(hub.endpoint() + " failed with HTTP 503 for " + REPO + "@main: try again later");

        hub.apiStatus = 429;
        assertThatThrownBy(() -> resolve(options()))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage(hub.endpoint() + " is rate-limiting requests for " + REPO
                        + "@main (HTTP 429): try again later");
    }

    @Test
    void privateRepoWithoutTokenIsNotFoundWithAHint() {
        hub.apiStatus = 401;

        assertThatThrownBy(() -> resolve(options()))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("repository " + REPO + " not found on " + hub.endpoint()
                        + " (if it is private, set HF_TOKEN) (HTTP 401)");
        assertThatThrownBy(() -> resolve(options().withToken("hf_bad")))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage(hub.endpoint() + " rejected the token (HF_TOKEN) for " + REPO
                        + ": check that it is valid (HTTP 401)");
    }

    @Test
    void aBlobLockedByThisProgramIsNotWrittenTwice() throws IOException {
        String sha = FakeHub.sha256(files.get("ice_text.model"));
        Path lockFile = cache.resolve(".locks").resolve(CACHE_FOLDER).resolve(sha + ".lock");
        Files.createDirectories(lockFile.getParent());
        try (var channel = FileChannel.open(lockFile, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            channel.lock();
            assertThatThrownBy(() -> resolve(options()))
                    .isInstanceOf(ChatGlmException.class)
                    .hasMessage("ice_text.model of " + REPO + " is already being downloaded by this program");
        }
        assertThat(resolve(options()).resolve("ice_text.model")).exists();
    }

    @Test
    void waitsForAnotherProcessDownloadingTheSameBlobAndUsesItsResult() throws Exception {
        String sha = FakeHub.sha256(files.get("ice_text.model"));
        Path repoDir = cache.resolve(CACHE_FOLDER);
        Path lockFile = cache.resolve(".locks").resolve(CACHE_FOLDER).resolve(sha + ".lock");
        Files.createDirectories(lockFile.getParent());
        Files.createDirectories(repoDir.resolve("blobs"));
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        Process holder = new ProcessBuilder(javaBin.toString(), "-cp", System.getProperty("java.class.path"),
                LockHolder.class.getName(), lockFile.toString(), repoDir.resolve("blobs").resolve(sha).toString(),
                Fixtures.path("model_a/checkpoint/ice_text.model").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try {
            var stdout = new BufferedReader(new InputStreamReader(holder.getInputStream()));
            assertThat(stdout.readLine()).isEqualTo("locked");
            var messages = new LinkedBlockingQueue<String>();
            var result = CompletableFuture.supplyAsync(() -> ModelLocator.resolve(REPO, "main",
                    options(), new DownloadListener() {
                        @Override
                        public void message(String text) {
                            messages.add(text);
                        }
                    }));
            String waiting = null;
            while (waiting == null) {
                String m = messages.poll(20, TimeUnit.SECONDS);
                assertThat(m).as("a message before the timeout").isNotNull();
                if (m.startsWith("Waiting for another process")) waiting = m;
            }
            assertThat(waiting).isEqualTo("Waiting for another process that is downloading ice_text.model of "
                    + REPO);
            assertThat(result).isNotDone();
            holder.getOutputStream().write("go\n".getBytes());
            holder.getOutputStream().flush();

            Path snapshot = result.get(20, TimeUnit.SECONDS);
            assertThat(Files.readAllBytes(snapshot.resolve("ice_text.model"))).isEqualTo(files.get("ice_text.model"));
            assertThat(hub.served("ice_text.model")).isZero();
        } finally {
            holder.destroy();
            holder.waitFor();
        }
    }
}
