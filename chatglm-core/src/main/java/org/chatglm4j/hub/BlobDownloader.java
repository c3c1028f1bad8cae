package org.chatglm4j.hub;

import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Brings one file into {@code blobs/} of the cache: streams it to {@code blobs/<etag>.incomplete}, resumes a
 * partial file with a {@code Range} request (also after the connection drops, up to {@link HubOptions#maxRetries()}
 * times in a row without progress), checks the sha256 when the etag is one, then renames it to
 * {@code blobs/<etag>} in one step. A per-blob lock file keeps two chatglm4j processes from writing the same blob.
 */
final class BlobDownloader {
    private static final int WRITE_BUFFER = 1 << 20;
    private static final long MAX_BACKOFF_MILLIS = 5_000;
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-(\\d+)/(\\d+|\\*)");

    private final HubClient client;
    private final HubOptions options;
    private final RepoId repo;
    private final DownloadListener listener;

    BlobDownloader(HubClient client, HubOptions options, RepoId repo, DownloadListener listener) {
        this.client = client;
        this.options = options;
        this.repo = repo;
        this.listener = listener;
    }

    /**
     * The blob of a file, downloaded unless the cache already has it.
     *
     * @param metadata asks the hub about the file; called once, and again before each resume for a fresh download
     *                 location
     */
    Path fetch(HubCache cache, Supplier<FileMetadata> metadata) {
        FileMetadata meta = metadata.get();
        Path blob = cache.blob(meta.etag());
        if (complete(blob, meta.size())) return blob;
        try {
            Files.createDirectories(cache.blobsDir());
            Files.createDirectories(cache.lockFile(meta.etag()).getParent());
        } catch (IOException e) {
            throw new ChatGlmException("cannot create the cache folder " + cache.repoDir() + ": " + e.getMessage(), e);
        }
        try (FileChannel lockChannel = FileChannel.open(cache.lockFile(meta.etag()), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            lock(lockChannel, meta.file()); // released when the channel closes
            // another process may have finished the blob while we waited for the lock
            if (complete(blob, meta.size())) return blob;
            Path part = cache.incomplete(meta.etag());
            download(meta, metadata, part);
            HubCache.moveAtomically(part, blob);
            return blob;
        } catch (IOException e) {
            throw new ChatGlmException("cannot store " + meta.file() + " in " + cache.blobsDir() + ": "
                    + e.getMessage(), e);
        }
    }

    private static boolean complete(Path blob, long size) {
        try {
            return Files.isRegularFile(blob) && (size < 0 || Files.size(blob) == size);
        } catch (IOException e) {
            return false;
        }
    }

    /** Waits for the blob's lock; it is held until {@code channel} is closed. */
    private void lock(FileChannel channel, String file) throws IOException {
        try {
            if (channel.tryLock() != null) return;
            listener.message("Waiting for another process that is downloading " + file + " of " + repo);
            channel.lock();
        } catch (OverlappingFileLockException e) {
            throw new ChatGlmException(file + " of " + repo + " is already being downloaded by this program");
        }
    }

    /** Fills {@code part} with the verified content of the file. */
    private void download(FileMetadata meta, Supplier<FileMetadata> metadata, Path part) throws IOException {
        String file = meta.file();
        long total = meta.size();
        MessageDigest digest = meta.sha256() == null ? null : sha256();
        long have = Files.isRegularFile(part) ? Files.size(part) : 0;
        if (total >= 0 && have > total) {
            Files.delete(part); // longer than the file: not a prefix of it
            have = 0;
        }
        if (have > 0 && digest != null) {
            listener.message("Checking the " + ByteSizes.format(have) + " of " + file + " downloaded before");
            hashPrefix(part, have, digest);
        }
        if (!Files.exists(part)) Files.createFile(part);
        requireSpace(part, total < 0 ? 0 : total - have, file);

        listener.fileStarted(file, total, have);
        Progress progress = new Progress(file, total, have);
        int failures = 0;
        URI uri = meta.downloadUri();
        while (total < 0 || have < total) {
            Attempt a = transfer(meta, uri, part, have, digest, progress);
            failures = a.bytesAfter > a.bytesBefore ? 0 : failures + 1;
            have = a.bytesAfter;
            if (a.failure == null) break;
            if (failures > options.maxRetries() || a.fatal) {
                listener.fileFailed(file, have, total);
                throw new ChatGlmException("download of " + file + " of " + repo + " stopped at "
                        + ByteSizes.format(have) + (total >= 0 ? " of " + ByteSizes.format(total) : "") + ": "
                        + a.failure + "; run again to resume");
            }
            listener.message(file + ": " + a.failure + " at " + ByteSizes.format(have) + ", resuming");
            backoff(failures, file);
            FileMetadata again = metadata.get();
            if (!again.etag().equals(meta.etag())) {
                listener.fileFailed(file, have, total);
                throw new ChatGlmException(file + " of " + repo + " changed on the hub during the download (etag "
                        + meta.etag() + ", now " + again.etag() + "); run again");
            }
            uri = again.downloadUri();
        }
        progress.finish(have);
        if (digest != null) {
            String got = HexFormat.of().formatHex(digest.digest());
            if (!got.equalsIgnoreCase(meta.sha256())) {
                Files.deleteIfExists(part);
                listener.fileFailed(file, have, total);
                throw new ChatGlmException("checksum mismatch for " + file + " of " + repo + ": sha256 " + got
                        + " but the hub says " + meta.sha256() + "; the download was deleted, run again");
            }
        }
        listener.fileDone(file, have);
    }

    /**
     * The outcome of one request: the file's length on disk before and after it (before is 0 when the request
     * started the file over), and why it stopped early, if it did.
     */
    private record Attempt(long bytesBefore, long bytesAfter, String failure, boolean fatal) {
    }

    /** One request for the rest of the file, appended to {@code part}. */
    private Attempt transfer(FileMetadata meta, URI uri, Path part, long have, MessageDigest digest,
                             Progress progress) throws IOException {
        String file = meta.file();
        long total = meta.size();
        HttpResponse<InputStream> r = client.openDownload(uri, file, have);
        int status = r.statusCode();
        boolean restart = false;
        if (status == 416) {
            HubClient.closeQuietly(r.body());
            // the server will not serve from our offset: the partial file is not usable, start it over
            Files.write(part, new byte[0]);
            startOver(file, total, digest, progress);
            return new Attempt(have, 0, "the server refused to resume (HTTP 416)", false);
        }
        if (status == 206) {
            Matcher m = CONTENT_RANGE.matcher(r.headers().firstValue("Content-Range").orElse(""));
            if (!m.matches() || Long.parseLong(m.group(1)) != have
                    || total >= 0 && !m.group(3).equals("*") && Long.parseLong(m.group(3)) != total) {
                HubClient.closeQuietly(r.body());
                return new Attempt(have, have, "the server answered a resume request with the range "
                        + r.headers().firstValue("Content-Range").orElse("(none)"), true);
            }
        } else if (have > 0) {
            // 200 to a Range request: the server sends the whole file, so the partial one is overwritten
            restart = true;
            listener.message(file + ": the server does not resume downloads, starting over");
            startOver(file, total, digest, progress);
        }
        long before = restart ? 0 : have;
        long done = before;
        String failure = null;
        boolean overflow = false;
        try (InputStream in = r.body();
             StallWatchdog watchdog = new StallWatchdog(options.readTimeout(), in);
             OutputStream out = Files.newOutputStream(part, StandardOpenOption.WRITE,
                     restart ? StandardOpenOption.TRUNCATE_EXISTING : StandardOpenOption.APPEND)) {
            byte[] pending = new byte[WRITE_BUFFER];
            int buffered = 0;
            while (true) {
                if (buffered == pending.length) {
                    out.write(pending, 0, buffered);
                    buffered = 0;
                }
                int n;
                try {
                    n = in.read(pending, buffered, pending.length - buffered);
                } catch (IOException e) {
                    failure = watchdog.fired() ? stalled() : "connection lost (" + HubClient.describe(e) + ")";
                    break;
                }
                if (n < 0) {
                    if (total >= 0 && done < total) {
                        failure = watchdog.fired() ? stalled() : "connection closed early";
                    }
                    break;
                }
                watchdog.touch();
                if (total >= 0 && done + n > total) {
                    overflow = true;
                    break;
                }
                if (digest != null) digest.update(pending, buffered, n);
                buffered += n;
                done += n;
                progress.update(done);
            }
            out.write(pending, 0, buffered);
        }
        if (overflow) {
            Files.deleteIfExists(part);
            listener.fileFailed(file, done, total);
            throw new ChatGlmException(uri.getHost() + " sent more than the " + total + " bytes announced for "
                    + file + " of " + repo + "; the download was deleted");
        }
        return new Attempt(before, done, failure, false);
    }

    private void startOver(String file, long total, MessageDigest digest, Progress progress) {
        if (digest != null) digest.reset();
        progress.restart();
        listener.fileStarted(file, total, 0);
    }

    private String stalled() {
        return "no data for " + HubClient.seconds(options.readTimeout());
    }

    private void backoff(int failures, String file) {
        long millis = Math.min(MAX_BACKOFF_MILLIS, 200L << Math.min(10, Math.max(0, failures - 1)));
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ChatGlmException("download of " + file + " of " + repo + " was interrupted", e);
        }
    }

    private static void hashPrefix(Path part, long length, MessageDigest digest) throws IOException {
        try (InputStream in = Files.newInputStream(part)) {
            byte[] buf = new byte[WRITE_BUFFER];
            long left = length;
            while (left > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (n < 0) throw new IOException(part + " shrank while it was being read");
                digest.update(buf, 0, n);
                left -= n;
            }
        }
    }

    private void requireSpace(Path part, long needed, String file) {
        try {
            long free = Files.getFileStore(part).getUsableSpace();
            if (needed > free) {
                throw new ChatGlmException("not enough disk space for " + file + " of " + repo + " in "
                        + part.getParent() + ": needs " + ByteSizes.format(needed) + ", "
                        + ByteSizes.format(free) + " free (set HF_HUB_CACHE to a bigger disk)");
            }
        } catch (IOException e) {
            // the file store cannot say: go ahead, a full disk still fails with a clear write error
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK always has SHA-256", e);
        }
    }

    /** Forwards progress at most once per {@link HubOptions#progressInterval()}, never going backwards. */
    private final class Progress {
        private final String file;
        private final long total;
        private final long intervalNanos = options.progressInterval().toNanos();
        private long lastNanos = System.nanoTime();
        private long lastReported;

        Progress(String file, long total, long start) {
            this.file = file;
            this.total = total;
            this.lastReported = start;
        }

        void update(long done) {
            long now = System.nanoTime();
            if (now - lastNanos >= intervalNanos && done > lastReported) {
                lastNanos = now;
                lastReported = done;
                listener.progress(file, done, total);
            }
        }

        void restart() {
            lastReported = 0;
        }

        void finish(long done) {
            if (done > lastReported || done == 0) listener.progress(file, done, total);
            lastReported = done;
        }
    }
}
