package org.chatglm4j.hub;

import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Where and how models are fetched from a Hugging Face hub. {@link #fromEnvironment()} reads the same environment
 * variables, with the same precedence, as the Python {@code huggingface_hub} library, so both share one cache.
 *
 * @param endpoint         hub base URL without a trailing slash ({@code HF_ENDPOINT})
 * @param cacheDir         the hub cache folder holding {@code models--owner--name} folders ({@code HF_HUB_CACHE})
 * @param token            bearer token sent to the endpoint only, or null; never printed (see {@link #toString()})
 * @param offline          never touch the network ({@code HF_HUB_OFFLINE})
 * @param connectTimeout   limit for opening a connection
 * @param readTimeout      limit for waiting on a response, and for a download that receives no byte at all
 * @param maxRetries       how often an interrupted file transfer is resumed before giving up
 * @param progressInterval least time between two progress callbacks of one file
 */
public record HubOptions(URI endpoint, Path cacheDir, String token, boolean offline, Duration connectTimeout,
                         Duration readTimeout, int maxRetries, Duration progressInterval) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_MAX_RETRIES = 5;
    public static final Duration DEFAULT_PROGRESS_INTERVAL = Duration.ofMillis(100);

    /** huggingface_hub's notion of a true environment value. */
    private static final Set<String> TRUE_VALUES = Set.of("1", "ON", "YES", "TRUE");
    /** A token file is a line of text; anything bigger is not one. */
    private static final long MAX_TOKEN_FILE_BYTES = 64 * 1024;

    /** Checks the values and normalizes the endpoint. */
    public HubOptions {
        if (endpoint == null) throw new IllegalArgumentException("endpoint is null");
        endpoint = normalizeEndpoint(endpoint.toString(), "endpoint");
        if (cacheDir == null) throw new IllegalArgumentException("cacheDir is null");
        if (token != null && token.isBlank()) token = null;
        if (token != null) token = token.strip();
        requirePositive(connectTimeout, "connectTimeout");
        requirePositive(readTimeout, "readTimeout");
        if (maxRetries < 0) throw new IllegalArgumentException("maxRetries < 0: " + maxRetries);
        if (progressInterval == null || progressInterval.isNegative()) {
            throw new IllegalArgumentException("progressInterval must be >= 0");
        }
    }

    /** Options from {@link System#getenv()} and the user's home folder. */
    public static HubOptions fromEnvironment() {
        return fromEnvironment(System.getenv(), userHome(System.getenv()));
    }

    /**
     * The home folder as Python's {@code expanduser} sees it ({@code $HOME}, else the account's), so that
     * chatglm4j and {@code huggingface_hub} share one cache: Java's {@code user.home} ignores {@code $HOME}.
     */
    public static Path userHome(Map<String, String> env) {
        String home = env.get("HOME");
        return home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"));
    }

    /**
     * Options from the given environment, as {@code huggingface_hub} reads it:
     * <ul>
     * <li>endpoint: {@code HF_ENDPOINT}, else {@value #DEFAULT_ENDPOINT};</li>
     * <li>cache: {@code HF_HUB_CACHE}, else {@code HUGGINGFACE_HUB_CACHE}, else {@code $HF_HOME/hub}, where
     * {@code HF_HOME} defaults to {@code $XDG_CACHE_HOME/huggingface}, which defaults to
     * {@code ~/.cache/huggingface};</li>
     * <li>token: {@code HF_TOKEN}, else {@code HUGGING_FACE_HUB_TOKEN}, else the file {@code HF_TOKEN_PATH}, which
     * defaults to {@code $HF_HOME/token} (written by {@code huggingface-cli login});</li>
     * <li>offline: {@code HF_HUB_OFFLINE} or {@code TRANSFORMERS_OFFLINE} is 1/ON/YES/TRUE;</li>
     * <li>timeouts in seconds: {@code HF_HUB_ETAG_TIMEOUT} (connect), {@code HF_HUB_DOWNLOAD_TIMEOUT} (read).</li>
     * </ul>
     * A leading {@code ~} in a path variable means {@code home}.
     */
    public static HubOptions fromEnvironment(Map<String, String> env, Path home) {
        String endpointText = nonBlank(env.get("HF_ENDPOINT"));
        URI endpoint = normalizeEndpoint(endpointText == null ? DEFAULT_ENDPOINT : endpointText, "HF_ENDPOINT");

        String xdg = nonBlank(env.get("XDG_CACHE_HOME"));
        Path xdgCache = xdg != null ? expandHome("XDG_CACHE_HOME", xdg, home) : home.resolve(".cache");
        String hfHomeText = nonBlank(env.get("HF_HOME"));
        Path hfHome = hfHomeText != null ? expandHome("HF_HOME", hfHomeText, home) : xdgCache.resolve("huggingface");
        String cacheVar = nonBlank(env.get("HF_HUB_CACHE")) != null ? "HF_HUB_CACHE" : "HUGGINGFACE_HUB_CACHE";
        String cacheText = nonBlank(env.get(cacheVar));
        Path cache = cacheText != null ? expandHome(cacheVar, cacheText, home) : hfHome.resolve("hub");

        String token = firstNonBlank(env.get("HF_TOKEN"), env.get("HUGGING_FACE_HUB_TOKEN"));
        if (token == null) {
            String tokenPath = nonBlank(env.get("HF_TOKEN_PATH"));
            token = readTokenFile(tokenPath != null ? expandHome("HF_TOKEN_PATH", tokenPath, home)
                    : hfHome.resolve("token"));
        }

        boolean offline = isTrue(env.get("HF_HUB_OFFLINE")) || isTrue(env.get("TRANSFORMERS_OFFLINE"));
        Duration connect = seconds(env, "HF_HUB_ETAG_TIMEOUT", DEFAULT_CONNECT_TIMEOUT);
        Duration read = seconds(env, "HF_HUB_DOWNLOAD_TIMEOUT", DEFAULT_READ_TIMEOUT);
        return new HubOptions(endpoint, cache, token, offline, connect, read, DEFAULT_MAX_RETRIES,
                DEFAULT_PROGRESS_INTERVAL);
    }

    /** Defaults with the given endpoint and cache, no token, online: a starting point for tests and embedders. */
    public static HubOptions of(URI endpoint, Path cacheDir) {
        return new HubOptions(endpoint, cacheDir, null, false, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT,
                DEFAULT_MAX_RETRIES, DEFAULT_PROGRESS_INTERVAL);
    }

    /** A copy with another hub URL (e.g. a mirror). */
    public HubOptions withEndpoint(URI newEndpoint) {
        return new HubOptions(newEndpoint, cacheDir, token, offline, connectTimeout, readTimeout, maxRetries,
                progressInterval);
    }

    /** A copy with another cache folder. */
    public HubOptions withCacheDir(Path newCacheDir) {
        return new HubOptions(endpoint, newCacheDir, token, offline, connectTimeout, readTimeout, maxRetries,
                progressInterval);
    }

    /** A copy with another access token (null: none). */
    public HubOptions withToken(String newToken) {
        return new HubOptions(endpoint, cacheDir, newToken, offline, connectTimeout, readTimeout, maxRetries,
                progressInterval);
    }

    /** A copy that never (true) or may (false) use the network. */
    public HubOptions withOffline(boolean newOffline) {
        return new HubOptions(endpoint, cacheDir, token, newOffline, connectTimeout, readTimeout, maxRetries,
                progressInterval);
    }

    /** A copy with other connect and read timeouts. */
    public HubOptions withTimeouts(Duration connect, Duration read) {
        return new HubOptions(endpoint, cacheDir, token, offline, connect, read, maxRetries, progressInterval);
    }

    /** A copy with another number of retries of a failed download. */
    public HubOptions withMaxRetries(int retries) {
        return new HubOptions(endpoint, cacheDir, token, offline, connectTimeout, readTimeout, retries,
                progressInterval);
    }

    /** A copy that reports progress at most this often. */
    public HubOptions withProgressInterval(Duration interval) {
        return new HubOptions(endpoint, cacheDir, token, offline, connectTimeout, readTimeout, maxRetries, interval);
    }

    /** Whether requests carry an access token. */
    public boolean hasToken() {
        return token != null;
    }

    /** The endpoint as text, e.g. {@code https://huggingface.co}, for messages and URL building. */
    public String endpointText() {
        return endpoint.toString();
    }

    /** Never shows the token itself, so options can be logged. */
    @Override
    public String toString() {
        return "HubOptions[endpoint=" + endpoint + ", cacheDir=" + cacheDir + ", token="
                + (token == null ? "none" : "***") + ", offline=" + offline + ", connectTimeout=" + connectTimeout
                + ", readTimeout=" + readTimeout + ", maxRetries=" + maxRetries + ", progressInterval="
                + progressInterval + "]";
    }

    private static URI normalizeEndpoint(String text, String what) {
        String t = text.strip();
        while (t.endsWith("/")) t = t.substring(0, t.length() - 1);
        URI uri;
        try {
            uri = new URI(t);
        } catch (URISyntaxException e) {
            throw new ChatGlmException(what + "=" + text + " is not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            throw new ChatGlmException(what + "=" + text + " is not an http(s) URL like " + DEFAULT_ENDPOINT);
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
            throw new ChatGlmException(what + "=" + text + " must not have a query or fragment");
        }
        return uri;
    }

    private static void requirePositive(Duration d, String name) {
        if (d == null || d.isZero() || d.isNegative()) throw new IllegalArgumentException(name + " must be > 0");
    }

    private static Duration seconds(Map<String, String> env, String name, Duration fallback) {
        String v = nonBlank(env.get(name));
        if (v == null) return fallback;
        try {
            double s = Double.parseDouble(v);
            if (!(s > 0) || s > 86_400) throw new NumberFormatException();
            return Duration.ofMillis(Math.round(s * 1000));
        } catch (NumberFormatException e) {
            throw new ChatGlmException(name + "=" + v + " is not a number of seconds between 0 and 86400");
        }
    }

    /** The stored token, or null when the file is absent or is not a plausible token file. */
    private static String readTokenFile(Path file) {
        try {
            if (!Files.isRegularFile(file) || Files.size(file) > MAX_TOKEN_FILE_BYTES) return null;
            return nonBlank(Files.readString(file, StandardCharsets.UTF_8).strip());
        } catch (IOException | RuntimeException e) {
            // an unreadable token file is the same as none: public repos still work, gated ones say why they fail
            return null;
        }
    }

    private static Path expandHome(String variable, String path, Path home) {
        try {
            if (path.equals("~")) return home;
            if (path.startsWith("~/")) return home.resolve(path.substring(2));
            return Path.of(path);
        } catch (InvalidPathException e) {
            throw new ChatGlmException(variable + "=" + path + " is not a valid path: " + e.getReason());
        }
    }

    private static boolean isTrue(String v) {
        return v != null && TRUE_VALUES.contains(v.strip().toUpperCase(Locale.ROOT));
    }

    private static String nonBlank(String v) {
        return v == null || v.isBlank() ? null : v.strip();
    }

    private static String firstNonBlank(String a, String b) {
        String x = nonBlank(a);
        return x != null ? x : nonBlank(b);
    }
}
