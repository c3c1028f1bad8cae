package org.chatglm4j.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The web chat page: static files under {@code web/} on the class path, no build step. Only plain file names are
 * served (no folders, no {@code ..}), with a Content-Security-Policy that allows nothing but our own scripts,
 * styles and requests: even a rendering bug cannot run injected script.
 */
final class WebAssets {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]+(\\.[A-Za-z0-9]+)+");
    private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private static final Map<String, String> TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "svg", "image/svg+xml",
            "png", "image/png",
            "ico", "image/x-icon",
            "json", "application/json; charset=utf-8");

    /** Only files that exist are kept: a client asking for /x1.js, /x2.js, … must not grow the heap. */
    private final Map<String, byte[]> cache = new ConcurrentHashMap<>();

    static boolean isAssetName(String name) {
        return NAME.matcher(name).matches();
    }

    void serve(Exchange ex, String name) throws IOException {
        String ext = name.substring(name.lastIndexOf('.') + 1);
        String type = TYPES.get(ext);
        byte[] body = type == null ? null : find(name);
        if (body == null) throw ApiError.notFound("not found: /" + name);
        ex.header("Content-Security-Policy", CSP);
        ex.header("Referrer-Policy", "no-referrer");
        ex.header("Cache-Control", "no-cache");
        ex.send(200, type, body);
    }

    /** The file's bytes, or null when there is no such file (and then nothing is cached). */
    byte[] find(String name) {
        return cache.computeIfAbsent(name, WebAssets::load);
    }

    /** Files held in memory. */
    int cached() {
        return cache.size();
    }

    private static byte[] load(String name) {
        try (InputStream in = WebAssets.class.getResourceAsStream("/web/" + name)) {
            return in == null ? null : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
