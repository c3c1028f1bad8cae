package org.chatglm4j.hub;

import org.chatglm4j.ChatGlmException;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Turns the CLI's {@code --model} argument into a local model folder:
 * <ol>
 * <li>an existing folder is used as it is;</li>
 * <li>an existing regular file is accepted only as a single-file chatglm4j model ({@value #SINGLE_FILE_EXTENSION},
 * returned as is for its future loader);</li>
 * <li>otherwise an {@code owner/name} hub repo id is looked up in the Hugging Face cache (see {@link HubCache}) and
 * used without any network access when the snapshot for the revision is complete;</li>
 * <li>otherwise, unless offline, the needed files (config, tokenizer, weights; never code) are downloaded into that
 * cache, where Python tools find them too.</li>
 * </ol>
 */
public final class ModelLocator {
    /** The model used when none is named. */
    public static final String DEFAULT_MODEL = "THUDM/chatglm-6b";
    /** The revision used when none is named. */
    public static final String DEFAULT_REVISION = "main";
    /** Reserved for a future native single-file format. */
    public static final String SINGLE_FILE_EXTENSION = ".cglm";

    private ModelLocator() {
    }

    /**
     * The local folder (or single model file) {@code modelArg} stands for, downloading it when needed.
     *
     * @param modelArg a folder, a {@value #SINGLE_FILE_EXTENSION} file or a hub repo id like {@value #DEFAULT_MODEL}
     * @param revision branch, tag or commit of a hub repo (ignored for local paths)
     * @throws ChatGlmException with a one-line reason when the model cannot be found or fetched
     */
    public static Path resolve(String modelArg, String revision, HubOptions options, DownloadListener listener) {
        return resolve(modelArg, revision, options, listener, true);
    }

    /** @param symlinks whether the cache may use symlinks (false copies, as on file systems without links) */
    static Path resolve(String modelArg, String revision, HubOptions options, DownloadListener listener,
                        boolean symlinks) {
        if (modelArg == null || modelArg.isBlank()) throw new ChatGlmException("no model given");
        Optional<Path> local = localPath(modelArg);
        if (local.isPresent()) return local.get();
        RepoId repo = RepoId.parse(modelArg).orElseThrow(() -> new ChatGlmException("model folder " + modelArg
                + " does not exist (and it is not a Hugging Face repo id like " + DEFAULT_MODEL + ")"));
        String rev = revision == null || revision.isBlank() ? DEFAULT_REVISION : revision.strip();
        HubCache.checkRevision(rev);
        return fromHub(repo, rev, options, listener == null ? DownloadListener.NONE : listener,
                new HubCache(options.cacheDir(), repo, symlinks));
    }

    private static Optional<Path> localPath(String arg) {
        Path p;
        try {
            p = Path.of(arg);
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
        if (Files.isDirectory(p)) return Optional.of(p.toAbsolutePath().normalize());
        if (!Files.exists(p)) return Optional.empty();
        if (Files.isRegularFile(p) && p.getFileName().toString().toLowerCase(Locale.ROOT)
                .endsWith(SINGLE_FILE_EXTENSION)) {
            return Optional.of(p);
        }
        throw new ChatGlmException(arg + " is a file, not a model folder: pass the folder holding config.json, "
                + "the tokenizer and the weights, or a Hugging Face repo id like " + DEFAULT_MODEL);
    }

    private static Path fromHub(RepoId repo, String revision, HubOptions options, DownloadListener listener,
                                HubCache cache) {
        String label = repo + "@" + revision;
        Optional<String> cachedCommit = HubCache.isCommitHash(revision) ? Optional.of(revision)
                : cache.readRef(revision);
        String lacks = "";
        if (cachedCommit.isPresent()) {
            Path snapshot = cache.snapshotDir(cachedCommit.get());
            List<String> lacking = ModelFiles.missing(snapshot);
            if (lacking.isEmpty()) return snapshot;
            lacks = " (its snapshot " + cachedCommit.get().substring(0, 10) + " lacks " + String.join(", ", lacking)
                    + ")";
        }
        if (options.offline()) {
            throw new ChatGlmException(label + " is not in the Hugging Face cache " + cache.root() + lacks
                    + " and HF_HUB_OFFLINE is set: unset it to download " + options.endpoint() + "/" + repo
                    + " into the cache, or download that repository elsewhere and pass its folder with --model");
        }
        try (HubClient client = new HubClient(options, repo, revision)) {
            return download(repo, revision, options, listener, cache, client);
        }
    }

    private static Path download(RepoId repo, String revision, HubOptions options, DownloadListener listener,
                                 HubCache cache, HubClient client) {
        String label = repo + "@" + revision;
        RepoInfo info = client.repoInfo();
        String commit = info.sha();
        if (!revision.equals(commit)) cache.writeRef(revision, commit);
        Path snapshot = cache.snapshotDir(commit);
        ModelFiles.Plan plan = ModelFiles.plan(label, info.siblings());
        Set<String> siblings = new HashSet<>(info.siblings());
        BlobDownloader downloader = new BlobDownloader(client, options, repo, listener);
        listener.message("Fetching " + label + " (commit " + commit.substring(0, 10) + ") from "
                + options.endpointText() + " into " + cache.repoDir());

        // the index comes first: it names the shards to fetch
        List<String> wanted = new ArrayList<>(plan.files());
        if (plan.weights().sharded()) {
            String index = plan.weights().file;
            ensure(cache, client, downloader, commit, index, snapshot, label);
            wanted.remove(index);
            for (String shard : ModelFiles.shards(snapshot.resolve(index), plan.weights())) {
                if (!siblings.contains(shard)) {
                    throw new ChatGlmException(index + " of " + label + " names the shard " + shard
                            + ", which the repository does not have");
                }
                wanted.add(shard);
            }
        }
        Map<String, FileMetadata> toFetch = new LinkedHashMap<>();
        long bytes = 0;
        for (String f : wanted) {
            if (HubCache.present(snapshot.resolve(f))) continue;
            FileMetadata meta = metadata(client, commit, f, label);
            toFetch.put(f, meta);
            if (!Files.isRegularFile(cache.blob(meta.etag())) && meta.size() > 0) bytes += meta.size();
        }
        if (!toFetch.isEmpty()) {
            listener.message(toFetch.size() + " file" + (toFetch.size() == 1 ? "" : "s") + " to fetch, up to "
                    + ByteSizes.format(bytes));
        }
        for (String f : toFetch.keySet()) ensure(cache, client, downloader, commit, f, snapshot, label);
        List<String> lacking = ModelFiles.missing(snapshot);
        if (!lacking.isEmpty()) {
            // only reachable if the repo changed under us or the cache was edited meanwhile
            throw new ChatGlmException("the snapshot " + snapshot + " of " + label + " still lacks "
                    + String.join(", ", lacking) + " after downloading");
        }
        return snapshot;
    }

    /**
     * Makes {@code snapshot/file} present, downloading its blob unless the cache has it. The metadata is asked for
     * right before the transfer, and again before each resume, because the CDN locations the hub hands out are
     * signed URLs that expire (a multi-GB model can take longer than that).
     */
    private static void ensure(HubCache cache, HubClient client, BlobDownloader downloader, String commit,
                               String file, Path snapshot, String label) {
        if (HubCache.present(snapshot.resolve(file))) return;
        Path blob = downloader.fetch(cache, () -> metadata(client, commit, file, label));
        cache.link(commit, file, blob);
    }

    private static FileMetadata metadata(HubClient client, String commit, String file, String label) {
        FileMetadata meta = client.fileMetadata(commit, file);
        if (meta.commit() != null && !meta.commit().equals(commit)) {
            throw new ChatGlmException("the hub served " + file + " of " + label + " from commit " + meta.commit()
                    + " instead of the requested " + commit);
        }
        return meta;
    }
}
