package org.chatglm4j.hub;

import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * One repository's folder in a Hugging Face hub cache, laid out as {@code huggingface_hub} does so that Python tools
 * and chatglm4j share downloads:
 * <pre>
 * {cache}/models--{owner}--{name}/
 *   blobs/{etag}                 file contents, named by the hub's ETag (sha256 for LFS files, git sha1 otherwise)
 *   blobs/{etag}.incomplete      a download in progress (resumable)
 *   refs/{revision}              the commit hash a branch or tag pointed to when it was last resolved
 *   snapshots/{commit}/{file}    relative symlinks to ../../blobs/{etag}
 * {cache}/.locks/models--{owner}--{name}/{etag}.lock
 * </pre>
 * Every file appears under its final name in one atomic rename, never half-written.
 */
final class HubCache {
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    /** Sane upper bound for a refs file (a 40-character hash and a newline). */
    private static final long MAX_REF_BYTES = 1024;

    private final Path root;
    private final RepoId repo;
    private final Path repoDir;
    private final boolean symlinks;

    /**
     * @param symlinks link snapshot files to blobs (true), or copy them where the file system cannot link
     *                 (false; also chosen automatically when creating a link fails)
     */
    HubCache(Path root, RepoId repo, boolean symlinks) {
        this.root = root;
        this.repo = repo;
        this.repoDir = root.resolve(repo.cacheFolderName());
        this.symlinks = symlinks;
    }

    static boolean isCommitHash(String revision) {
        return COMMIT.matcher(revision).matches();
    }

    Path root() {
        return root;
    }

    Path repoDir() {
        return repoDir;
    }

    Path blobsDir() {
        return repoDir.resolve("blobs");
    }

    Path blob(String etag) {
        return blobsDir().resolve(etag);
    }

    Path incomplete(String etag) {
        return blobsDir().resolve(etag + ".incomplete");
    }

    Path lockFile(String etag) {
        return root.resolve(".locks").resolve(repo.cacheFolderName()).resolve(etag + ".lock");
    }

    Path snapshotDir(String commit) {
        return repoDir.resolve("snapshots").resolve(commit);
    }

    /** The commit the cache last resolved {@code revision} to, if it knows. */
    Optional<String> readRef(String revision) {
        Path ref = refFile(revision);
        try {
            if (!Files.isRegularFile(ref) || Files.size(ref) > MAX_REF_BYTES) return Optional.empty();
            String commit = Files.readString(ref, StandardCharsets.US_ASCII).strip().toLowerCase(Locale.ROOT);
            return COMMIT.matcher(commit).matches() ? Optional.of(commit) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            // an unreadable ref only means the cache cannot answer offline; the hub can
            return Optional.empty();
        }
    }

    void writeRef(String revision, String commit) {
        Path ref = refFile(revision);
        try {
            Files.createDirectories(ref.getParent());
            Path tmp = tempSibling(ref);
            Files.writeString(tmp, commit, StandardCharsets.US_ASCII);
            moveAtomically(tmp, ref);
        } catch (IOException e) {
            throw new ChatGlmException("cannot write " + ref + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes {@code snapshots/{commit}/{file}} point at {@code blob}: a relative symlink like huggingface_hub makes,
     * or a copy of the blob when the file system cannot link (e.g. Windows without developer mode).
     */
    void link(String commit, String file, Path blob) {
        Path target = snapshotDir(commit).resolve(file);
        try {
            Files.createDirectories(target.getParent());
            Path tmp = tempSibling(target);
            boolean linked = false;
            if (symlinks) {
                try {
                    Files.createSymbolicLink(tmp, target.getParent().relativize(blob));
                    linked = true;
                } catch (UnsupportedOperationException | FileSystemException e) {
                    // no symlink support on this file system: copy instead, as huggingface_hub does
                }
            }
            if (!linked) Files.copy(blob, tmp, StandardCopyOption.REPLACE_EXISTING);
            moveAtomically(tmp, target);
        } catch (IOException e) {
            throw new ChatGlmException("cannot create " + target + ": " + e.getMessage(), e);
        }
    }

    /** The snapshot file if it resolves to a readable regular file (a dangling link does not count). */
    static boolean present(Path file) {
        return Files.isRegularFile(file) && Files.isReadable(file);
    }

    /** Revisions become paths under refs/, so one that could escape that folder is refused. */
    static void checkRevision(String revision) {
        if (revision == null || revision.isEmpty() || revision.length() > 255) {
            throw new ChatGlmException("revision '" + revision + "' is empty or too long");
        }
        for (String part : revision.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new ChatGlmException("revision '" + revision + "' is not a valid branch, tag or commit name");
            }
        }
        for (int i = 0; i < revision.length(); i++) {
            char c = revision.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\\' || c == ':') {
                throw new ChatGlmException("revision '" + revision.replaceAll("\\p{Cntrl}", "?")
                        + "' contains a character a branch or tag name cannot have");
            }
        }
    }

    private Path refFile(String revision) {
        checkRevision(revision);
        return repoDir.resolve("refs").resolve(revision);
    }

    private static Path tempSibling(Path file) {
        return file.resolveSibling("." + file.getFileName() + "." + UUID.randomUUID() + ".tmp");
    }

    /** Rename in one step so readers see either the old file or the new one. */
    static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(from);
        }
    }
}
