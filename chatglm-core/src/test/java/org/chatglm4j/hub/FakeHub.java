package org.chatglm4j.hub;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A local stand-in for huggingface.co and its CDN, on two loopback ports, answering like the real ones:
 * <ul>
 * <li>{@code GET /api/models/{repo}/revision/{rev}}: {@code {"id", "sha", "siblings": [{"rfilename"}]}};</li>
 * <li>{@code HEAD|GET /{repo}/resolve/{rev}/{file}}: small (git) files directly with {@code ETag} = git blob sha1;
 * LFS files (*.bin, *.model, *.safetensors) as a 302 to the CDN with {@code X-Linked-Etag} = sha256 and
 * {@code X-Linked-Size}; always {@code X-Repo-Commit};</li>
 * <li>errors with {@code X-Error-Code} RepoNotFound / RevisionNotFound / EntryNotFound / GatedRepo;</li>
 * <li>the CDN ({@code /blob/{sha256}}) honours {@code Range} and has its own, unrelated ETag.</li>
 * </ul>
 * Fault knobs: drop the connection once after N bytes, ignore Range, corrupt a byte, stall after N bytes.
 */
final class FakeHub implements AutoCloseable {
    private static final Pattern API = Pattern.compile("/api/models/([^/]+)/([^/]+)/revision/([^/]+)");
    private static final Pattern RESOLVE = Pattern.compile("/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)");
    private static final Pattern BLOB = Pattern.compile("/blob/([0-9a-f]{64})");
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    record Repo(String id, String commit, Map<String, byte[]> files, boolean gated) {
    }

    private final HttpServer hub;
    private final HttpServer cdn;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final Map<String, Repo> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final Map<String, String> blobNames = new ConcurrentHashMap<>();
    private final CountDownLatch closing = new CountDownLatch(1);

    /** Body bytes sent per file name (resolve and CDN together). */
    final Map<String, AtomicLong> bytesServed = new ConcurrentHashMap<>();
    /** Where each body the CDN sent started (the Range start, 0 without one), per file name, in order. */
    final Map<String, List<Long>> bodyStarts = new ConcurrentHashMap<>();
    /** "METHOD path" of every request, in order. */
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    /** Authorization headers the CDN received (must stay empty: the token is for the hub only). */
    final List<String> cdnAuthorizations = Collections.synchronizedList(new ArrayList<>());

    volatile String requiredToken;
    /** When not 0, the model API answers with this status. */
    volatile int apiStatus;
    /** Added to the X-Linked-Size the hub announces (a lie the client must catch). */
    volatile long linkedSizeDelta;
    /** Leave out ETag and X-Linked-Etag. */
    volatile boolean omitEtags;
    /** The file the fault knobs below apply to; null: every file. */
    volatile String faultFile;
    /** Closes the next CDN response after this many body bytes. */
    volatile long dropOnceAfterBytes = -1;
    volatile boolean ignoreRange;
    volatile boolean corrupt;
    /** Every CDN response stops sending at this byte of the file and then hangs. */
    volatile long stallAtByte = -1;

    private FakeHub() throws IOException {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        hub = HttpServer.create(loopback, 0);
        cdn = HttpServer.create(loopback, 0);
        hub.setExecutor(executor);
        cdn.setExecutor(executor);
        hub.createContext("/", this::handleHub);
        cdn.createContext("/", this::handleCdn);
        hub.start();
        cdn.start();
    }

    static FakeHub start() {
        try {
            return new FakeHub();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + hub.getAddress().getPort());
    }

    /** Serves the given files (name to content) as repo {@code id} at {@code commit}. */
    Repo addRepo(String id, String commit, Map<String, byte[]> files, boolean gated) {
        Repo repo = new Repo(id, commit, new LinkedHashMap<>(files), gated);
        repos.put(id, repo);
        files.forEach((name, bytes) -> {
            if (isLfs(name)) {
                String sha = sha256(bytes);
                blobs.put(sha, bytes);
                blobNames.put(sha, name);
            }
        });
        return repo;
    }

    /** All regular files of the given folders, later folders overriding earlier ones. */
    static Map<String, byte[]> filesOf(Path... folders) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        try {
            for (Path folder : folders) {
                try (var s = Files.list(folder)) {
                    for (Path p : s.sorted().toList()) {
                        if (Files.isRegularFile(p)) files.put(p.getFileName().toString(), Files.readAllBytes(p));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    long served(String file) {
        AtomicLong n = bytesServed.get(file);
        return n == null ? 0 : n.get();
    }

    List<String> requestsFor(String file) {
        synchronized (requests) {
            return requests.stream().filter(r -> r.endsWith("/" + file) || r.contains("name=" + file)).toList();
        }
    }

    static boolean isLfs(String name) {
        return name.endsWith(".bin") || name.endsWith(".model") || name.endsWith(".safetensors");
    }

    static String sha256(byte[] bytes) {
        return hex("SHA-256", bytes, null);
    }

    /** The git blob id, what the hub sends as ETag of non-LFS files. */
    static String gitSha1(byte[] bytes) {
        return hex("SHA-1", bytes, ("blob " + bytes.length + "\0").getBytes(StandardCharsets.US_ASCII));
    }

    private static String hex(String algorithm, byte[] bytes, byte[] prefix) {
        try {
            MessageDigest d = MessageDigest.getInstance(algorithm);
            if (prefix != null) d.update(prefix);
            return HexFormat.of().formatHex(d.digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void handleHub(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getRawPath();
            requests.add(ex.getRequestMethod() + " " + path);
            Matcher api = API.matcher(path);
            Matcher resolve = RESOLVE.matcher(path);
            if (api.matches()) {
                if (apiStatus != 0) {
                    error(ex, apiStatus, null);
                    return;
                }
                Repo repo = findRepo(ex, api.group(1) + "/" + api.group(2), false);
                if (repo == null || !revisionOk(ex, repo, decode(api.group(3)))) return;
                StringBuilder json = new StringBuilder("{\"id\":\"" + repo.id() + "\",\"sha\":\"" + repo.commit()
                        + "\",\"private\":false,\"siblings\":[");
                int i = 0;
                for (String name : repo.files().keySet()) {
                    json.append(i++ == 0 ? "" : ",").append("{\"rfilename\":\"").append(name).append("\"}");
                }
                json.append("]}");
                ex.getResponseHeaders().set("Content-Type", "application/json");
                sendFull(ex, 200, json.toString().getBytes(StandardCharsets.UTF_8), null);
            } else if (resolve.matches()) {
                Repo repo = findRepo(ex, resolve.group(1) + "/" + resolve.group(2), true);
                if (repo == null || !revisionOk(ex, repo, decode(resolve.group(3)))) return;
                String file = decode(resolve.group(4));
                byte[] bytes = repo.files().get(file);
                Headers h = ex.getResponseHeaders();
                if (bytes == null) {
                    error(ex, 404, "EntryNotFound");
                    return;
                }
                h.set("X-Repo-Commit", repo.commit());
                if (isLfs(file)) {
                    String sha = sha256(bytes);
                    h.set("X-Linked-Etag", "\"" + sha + "\"");
                    h.set("X-Linked-Size", Long.toString(bytes.length + linkedSizeDelta));
                    // the ETag of the LFS pointer, which must not be mistaken for the file's
                    h.set("ETag", "\"" + gitSha1(("pointer " + sha).getBytes(StandardCharsets.US_ASCII)) + "\"");
                    h.set("Location", "http://127.0.0.1:" + cdn.getAddress().getPort() + "/blob/" + sha
                            + "?name=" + file);
                    if (omitEtags) {
                        h.remove("X-Linked-Etag");
                        h.remove("ETag");
                    }
                    ex.sendResponseHeaders(302, -1);
                } else {
                    if (!omitEtags) h.set("ETag", "\"" + gitSha1(bytes) + "\"");
                    sendFull(ex, 200, bytes, file);
                }
            } else {
                error(ex, 404, null);
            }
        }
    }

    private void handleCdn(HttpExchange ex) throws IOException {
        try (ex) {
            URI uri = ex.getRequestURI();
            requests.add(ex.getRequestMethod() + " cdn " + uri.getRawPath() + "?" + uri.getRawQuery());
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (auth != null) cdnAuthorizations.add(auth);
            Matcher m = BLOB.matcher(uri.getRawPath());
            byte[] bytes = m.matches() ? blobs.get(m.group(1)) : null;
            if (bytes == null) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            String name = blobNames.get(m.group(1));
            boolean faulty = faultFile == null || faultFile.equals(name);
            if (corrupt && faulty) {
                bytes = bytes.clone();
                bytes[bytes.length / 2] ^= 0x55;
            }
            ex.getResponseHeaders().set("ETag", "\"0123456789abcdef0123456789abcdef\"");
            ex.getResponseHeaders().set("Accept-Ranges", "bytes");
            long from = 0;
            String range = ex.getRequestHeaders().getFirst("Range");
            Matcher r = range == null ? null : RANGE.matcher(range);
            if (r != null && r.matches() && !(ignoreRange && faulty)) from = Long.parseLong(r.group(1));
            if (from >= bytes.length && from > 0) {
                ex.getResponseHeaders().set("Content-Range", "bytes */" + bytes.length);
                ex.sendResponseHeaders(416, -1);
                return;
            }
            int status = 200;
            if (from > 0) {
                status = 206;
                ex.getResponseHeaders().set("Content-Range",
                        "bytes " + from + "-" + (bytes.length - 1) + "/" + bytes.length);
            }
            int length = bytes.length - (int) from;
            bodyStarts.computeIfAbsent(name, k -> Collections.synchronizedList(new ArrayList<>())).add(from);
            ex.sendResponseHeaders(status, length);
            OutputStream out = ex.getResponseBody();
            long drop = faulty ? dropOnceAfterBytes : -1;
            long stall = faulty ? stallAtByte : -1;
            int limit = length;
            boolean hang = false;
            if (drop >= 0 && drop < length) {
                dropOnceAfterBytes = -1;
                limit = (int) drop;
            } else if (stall >= 0 && stall < bytes.length) {
                limit = (int) Math.max(0, stall - from);
                hang = true;
            }
            out.write(bytes, (int) from, limit);
            out.flush();
            bytesServed.computeIfAbsent(name, k -> new AtomicLong()).addAndGet(limit);
            if (hang) {
                try {
                    closing.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            // closing with bytes missing makes the server drop the connection: the client sees an early end
        }
    }

    private Repo findRepo(HttpExchange ex, String id, boolean file) throws IOException {
        Repo repo = repos.get(id);
        if (repo == null) {
            error(ex, 404, "RepoNotFound");
            return null;
        }
        if (repo.gated() && file) {
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (auth == null || requiredToken == null || !auth.equals("Bearer " + requiredToken)) {
                error(ex, auth == null ? 401 : 403, "GatedRepo");
                return null;
            }
        }
        return repo;
    }

    private boolean revisionOk(HttpExchange ex, Repo repo, String rev) throws IOException {
        if (rev.equals("main") || rev.equals(repo.commit())) return true;
        error(ex, 404, "RevisionNotFound");
        return false;
    }

    private void sendFull(HttpExchange ex, int status, byte[] body, String file) throws IOException {
        if (ex.getRequestMethod().equals("HEAD")) {
            ex.getResponseHeaders().set("Content-Length", Long.toString(body.length));
            ex.sendResponseHeaders(status, -1);
            return;
        }
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        ex.getResponseBody().write(body);
        if (file != null) bytesServed.computeIfAbsent(file, k -> new AtomicLong()).addAndGet(body.length);
    }

    private static void error(HttpExchange ex, int status, String code) throws IOException {
        if (code != null) {
            ex.getResponseHeaders().set("X-Error-Code", code);
            ex.getResponseHeaders().set("X-Error-Message", code + " for " + ex.getRequestURI().getRawPath());
        }
        ex.sendResponseHeaders(status, -1);
    }

    private static String decode(String segment) {
        return URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** Stops both servers; the next connection to either port is refused. */
    @Override
    public void close() {
        closing.countDown();
        hub.stop(0);
        cdn.stop(0);
        executor.shutdownNow();
    }
}
