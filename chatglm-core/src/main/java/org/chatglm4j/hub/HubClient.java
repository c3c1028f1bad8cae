package org.chatglm4j.hub;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * The few hub HTTP calls a model download needs: the model API (commit and file list), the file metadata behind
 * {@code /resolve/} and the file bytes. Redirects are followed by hand so that the hub's own headers
 * ({@code X-Repo-Commit}, {@code X-Linked-Etag}, {@code X-Linked-Size}) are read from the hub's response and not
 * from the CDN's, and so that the token is sent to the endpoint's host only. Every failure becomes a one-line
 * {@link ChatGlmException}.
 */
final class HubClient implements AutoCloseable {
    private static final int MAX_REDIRECTS = 10;
    /** The model API answer lists every file of the repo; a few KB for real repos. */
    private static final long MAX_INFO_BYTES = 16L << 20;
    private static final Pattern ETAG = Pattern.compile("[A-Za-z0-9_-]{1,128}");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HubOptions options;
    private final RepoId repo;
    private final String revision;
    private final HttpClient http;

    /** @param revision the revision the user asked for, named in messages */
    HubClient(HubOptions options, RepoId repo, String revision) {
        this.options = options;
        this.repo = repo;
        this.revision = revision;
        this.http = HttpClient.newBuilder()
                // one long stream per file; HTTP/1.1 keeps it simple and its flow control out of the way
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(options.connectTimeout())
                .build();
    }

    /** The commit {@code revision} resolves to and the repository's files at that commit. */
    RepoInfo repoInfo() {
        URI uri = URI.create(options.endpointText() + "/api/models/" + repo + "/revision/" + encode(revision));
        HttpResponse<byte[]> r = null;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            r = sendSmall(request(uri, "GET").build(),
                    HttpResponse.BodyHandlers.limiting(HttpResponse.BodyHandlers.ofByteArray(), MAX_INFO_BYTES));
            if (!isRedirect(r.statusCode())) break;
            uri = location(r.headers(), uri);
        }
        if (isRedirect(r.statusCode())) throw tooManyRedirects(null);
        if (r.statusCode() != 200) throw httpError(r.statusCode(), r.headers(), uri, null);
        String what = options.endpointText() + " model info for " + repo + "@" + revision;
        JsonNode root;
        try {
            root = JSON.readTree(r.body());
        } catch (JacksonException e) {
            throw new ChatGlmException(what + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ChatGlmException(what + " cannot be read: " + e.getMessage(), e);
        }
        JsonNode sha = root == null ? null : root.get("sha");
        if (sha == null || !sha.isTextual() || !COMMIT.matcher(sha.textValue()).matches()) {
            throw new ChatGlmException(what + " has no valid commit \"sha\"");
        }
        JsonNode siblings = root.get("siblings");
        if (siblings == null || !siblings.isArray()) {
            throw new ChatGlmException(what + " has no \"siblings\" file list");
        }
        List<String> files = new ArrayList<>(siblings.size());
        for (JsonNode s : siblings) {
            JsonNode name = s.get("rfilename");
            if (name != null && name.isTextual()) files.add(name.textValue());
        }
        return new RepoInfo(sha.textValue(), files);
    }

    /**
     * Commit, etag, size and download location of {@code file} at {@code commit}: a HEAD on the hub's resolve URL,
     * following the hub's own (same-host) redirects but stopping at the redirect to the CDN, whose headers are the
     * CDN's and not the file's.
     */
    FileMetadata fileMetadata(String commit, String file) {
        URI uri = URI.create(options.endpointText() + "/" + repo + "/resolve/" + encode(commit) + "/" + encode(file));
        String repoCommit = null;
        String linkedEtag = null;
        long linkedSize = -1;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpResponse<Void> r = sendSmall(request(uri, "HEAD").build(), HttpResponse.BodyHandlers.discarding());
            HttpHeaders h = r.headers();
            if (repoCommit == null) repoCommit = h.firstValue("X-Repo-Commit").orElse(null);
            if (linkedEtag == null) linkedEtag = h.firstValue("X-Linked-Etag").orElse(null);
            if (linkedSize < 0) linkedSize = h.firstValueAsLong("X-Linked-Size").orElse(-1);
            int status = r.statusCode();
            if (status >= 200 && status < 300) {
                long size = linkedSize >= 0 ? linkedSize : h.firstValueAsLong("Content-Length").orElse(-1);
                return metadata(file, repoCommit, linkedEtag != null ? linkedEtag : h.firstValue("ETag").orElse(null),
                        size, uri);
            }
            if (!isRedirect(status)) throw httpError(status, h, uri, file);
            URI next = location(h, uri);
            if (linkedEtag != null || !sameOrigin(next, options.endpoint())) {
                // the redirect to the storage/CDN: the file's identity is in this response's headers
                return metadata(file, repoCommit, linkedEtag != null ? linkedEtag : h.firstValue("ETag").orElse(null),
                        linkedSize, next);
            }
            uri = next;
        }
        throw tooManyRedirects(file);
    }

    /**
     * Starts fetching {@code file}'s bytes from {@code uri}, from byte {@code offset} on when it is positive. The
     * caller closes the body. Statuses 200, 206 and 416 are returned for the caller to judge; others throw.
     */
    HttpResponse<InputStream> openDownload(URI uri, String file, long offset) {
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = request(uri, "GET");
            if (offset > 0) b.header("Range", "bytes=" + offset + "-");
            HttpResponse<InputStream> r;
            try {
                r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (IOException e) {
                throw networkError(uri, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ChatGlmException("download of " + file + " of " + repo + " was interrupted", e);
            }
            int status = r.statusCode();
            if (status == 200 || status == 206 || status == 416) return r;
            closeQuietly(r.body());
            if (!isRedirect(status)) throw httpError(status, r.headers(), uri, file);
            uri = location(r.headers(), uri);
        }
        throw tooManyRedirects(file);
    }

    /** One line saying why a connection failed, with the way out. */
    ChatGlmException networkError(URI uri, IOException e) {
        String reason = e instanceof HttpConnectTimeoutException
                ? "connection timed out after " + seconds(options.connectTimeout()) : describe(e);
        return new ChatGlmException("cannot reach " + origin(uri) + " for " + repo + ": " + reason
                + " (download " + options.endpoint() + "/" + repo + " on a machine that can, and pass its folder with"
                + " --model; or set HF_ENDPOINT to a mirror)", e);
    }

    @Override
    public void close() {
        http.close();
    }

    private FileMetadata metadata(String file, String repoCommit, String rawEtag, long size, URI downloadUri) {
        if (rawEtag == null) {
            throw new ChatGlmException(origin(downloadUri) + " sent no ETag for " + file + " of " + repo
                    + ", so it cannot be cached");
        }
        String etag = normalizeEtag(rawEtag);
        if (!ETAG.matcher(etag).matches()) {
            throw new ChatGlmException(options.endpointText() + " sent an unusable ETag for " + file + " of " + repo
                    + ": " + oneLine(rawEtag, 80));
        }
        String commit = repoCommit == null ? null : repoCommit.strip().toLowerCase(Locale.ROOT);
        return new FileMetadata(file, commit, etag, size, downloadUri);
    }

    /** Strips the {@code W/} weak marker and the quotes the HTTP syntax puts around an entity tag. */
    static String normalizeEtag(String raw) {
        String e = raw.strip();
        if (e.startsWith("W/")) e = e.substring(2);
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) e = e.substring(1, e.length() - 1);
        return e;
    }

    private HttpRequest.Builder request(URI uri, String method) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(options.readTimeout())
                .header("User-Agent", "chatglm4j")
                // sizes must be the file's, not a compressed stream's
                .header("Accept-Encoding", "identity");
        if (options.hasToken() && sameOrigin(uri, options.endpoint())) {
            b.header("Authorization", "Bearer " + options.token());
        }
        return b;
    }

    /** A request whose whole answer is small: bounded by connect + read timeout in total. */
    private <T> HttpResponse<T> sendSmall(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
        CompletableFuture<HttpResponse<T>> f = http.sendAsync(request, handler);
        Duration limit = options.connectTimeout().plus(options.readTimeout());
        try {
            return f.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw networkError(request.uri(), new HttpTimeoutException("no answer within "
                    + seconds(limit)));
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw networkError(request.uri(), c instanceof IOException io ? io : new IOException(c));
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            throw new ChatGlmException("request to " + origin(request.uri()) + " for " + repo + " was interrupted", e);
        }
    }

    /** Maps an error status to a message that says what is wrong and what to do. */
    private ChatGlmException httpError(int status, HttpHeaders headers, URI uri, String file) {
        String code = headers.firstValue("X-Error-Code").orElse("");
        String what = file == null ? repo + "@" + revision : file + " of " + repo + "@" + revision;
        String endpoint = options.endpointText();
        boolean hub = sameOrigin(uri, options.endpoint());
        String page = endpoint + "/" + repo;
        String message;
        if (hub && (code.equals("GatedRepo") || status == 403 && file != null && code.isEmpty())) {
            message = options.hasToken()
                    ? repo + " is a gated repository and the token in use (HF_TOKEN) has no access to it: accept its"
                    + " conditions at " + page + " (HTTP " + status + ")"
                    : repo + " is a gated repository: accept its conditions at " + page
                    + ", then set HF_TOKEN to an access token (HTTP " + status + ")";
        } else if (hub && code.equals("RepoNotFound")
                || hub && status == 401 && code.isEmpty() && !options.hasToken()) {
            message = "repository " + repo + " not found on " + endpoint
                    + (options.hasToken() ? "" : " (if it is private, set HF_TOKEN)") + " (HTTP " + status + ")";
        } else if (hub && code.equals("RevisionNotFound")) {
            message = repo + " has no revision '" + revision + "' on " + endpoint + " (HTTP " + status + ")";
        } else if (hub && (code.equals("EntryNotFound") || status == 404 && file != null)) {
            message = repo + "@" + revision + " has no file " + file + " on " + endpoint + " (HTTP " + status + ")";
        } else if (hub && status == 404) {
            message = "repository " + repo + " or its revision '" + revision + "' not found on " + endpoint
                    + " (HTTP 404)";
        } else if (hub && status == 401) {
            message = endpoint + " rejected the token (HF_TOKEN) for " + repo + ": check that it is valid (HTTP 401)";
        } else if (status == 429) {
            message = origin(uri) + " is rate-limiting requests for " + what + " (HTTP 429): try again later";
        } else if (status >= 500) {
            message = origin(uri) + " failed with HTTP " + status + " for " + what + ": try again later";
        } else {
            String detail = headers.firstValue("X-Error-Message").map(m -> ": " + oneLine(m, 120)).orElse("");
            message = origin(uri) + " answered HTTP " + status + " for " + what + detail;
        }
        return new ChatGlmException(message);
    }

    private ChatGlmException tooManyRedirects(String file) {
        return new ChatGlmException("more than " + MAX_REDIRECTS + " redirects for "
                + (file == null ? "" : file + " of ") + repo + "@" + revision + " from " + options.endpointText());
    }

    private URI location(HttpHeaders headers, URI from) {
        String loc = headers.firstValue("Location").orElse(null);
        if (loc == null || loc.isBlank()) {
            throw new ChatGlmException(origin(from) + " sent a redirect without a Location for " + repo);
        }
        try {
            URI next = from.resolve(loc.strip());
            String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) throw new IllegalArgumentException(scheme);
            return next;
        } catch (IllegalArgumentException e) {
            throw new ChatGlmException(origin(from) + " redirected to an unusable location for " + repo + ": "
                    + oneLine(loc, 120));
        }
    }

    private static boolean isRedirect(int status) {
        return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost() != null
                && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        if (u.getPort() >= 0) return u.getPort();
        return u.getScheme().equalsIgnoreCase("https") ? 443 : 80;
    }

    private static String origin(URI u) {
        return u.getScheme() + "://" + u.getRawAuthority();
    }

    /**
     * The most useful one-line reason inside a network exception. The JDK client's exceptions often carry no message
     * (a refused connection is a ConnectException over a ClosedChannelException, both without one), and the
     * outer ones are generic ("closed"), so the innermost message wins.
     */
    static String describe(IOException e) {
        String message = null;
        boolean connect = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException || t instanceof UnknownHostException) {
                return "unknown host" + (t.getMessage() == null ? "" : " " + oneLine(t.getMessage(), 100));
            }
            if (t instanceof ConnectException) connect = true;
            if (t.getMessage() != null && !t.getMessage().isBlank()) message = t.getMessage();
        }
        if (message != null) return oneLine(message, 200);
        return connect ? "Connection refused" : e.getClass().getSimpleName();
    }

    /** Percent-encodes one URL path segment (UTF-8), leaving only RFC 3986 unreserved characters. */
    static String encode(String segment) {
        StringBuilder sb = new StringBuilder();
        for (byte b : segment.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return sb.toString();
    }

    static String oneLine(String s, int max) {
        String t = s.replaceAll("\\s+", " ").replaceAll("\\p{Cntrl}", "?").strip();
        return t.length() <= max ? t : t.substring(0, max) + "...";
    }

    static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException e) {
            // nothing more to read from it either way
        }
    }
}
