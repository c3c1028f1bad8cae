package org.chatglm4j.server;

import org.eclipse.jetty.http.HttpHeader;

import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Checks made before anything else: which host names and browser origins may talk to the server, and that request
 * bodies are declared as JSON.
 *
 * <p>A server bound to loopback answers only requests addressed to a loopback name ({@code localhost},
 * {@code 127.0.0.1}, {@code [::1]}) or to the host of an allowed origin, so a web page whose domain was re-pointed
 * at 127.0.0.1 (DNS rebinding) is refused. A browser request carrying {@code Origin} is accepted from the page's
 * own origin and from the allowed origins (which then get CORS headers) only. Requiring
 * {@code Content-Type: application/json} on POST turns every cross-site "simple" request (text/plain, forms) away
 * before its body is read.
 */
final class RequestGuard {
    private static final Set<String> LOOPBACK_NAMES = Set.of("localhost", "127.0.0.1", "::1", "[::1]");

    private final boolean anyOrigin;
    private final Set<String> origins = new HashSet<>();
    /** Host names accepted in {@code Host}; null when any is (a server bound to a network address). */
    private final Set<String> hosts;

    RequestGuard(ServerOptions options) {
        ServerLimits limits = options.limits();
        this.anyOrigin = limits.allowedOrigins().contains("*");
        for (String o : limits.allowedOrigins()) if (!o.equals("*")) origins.add(o.toLowerCase(Locale.ROOT));
        if (isLoopback(options.host()) && !anyOrigin) {
            hosts = new HashSet<>(LOOPBACK_NAMES);
            hosts.add(options.host().toLowerCase(Locale.ROOT));
            for (String o : origins) hosts.add(hostOf(o.substring(o.indexOf("://") + 3)));
        } else {
            hosts = null;
        }
    }

    static boolean isLoopback(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return h.equals("localhost") || h.startsWith("127.") || h.equals("::1") || h.equals("[::1]")
                || h.equals("0:0:0:0:0:0:0:1");
    }

    /** The host name of an authority ({@code host[:port]}, IPv6 in brackets), lower case. */
    static String hostOf(String authority) {
        String a = authority.toLowerCase(Locale.ROOT);
        if (a.startsWith("[")) {
            int end = a.indexOf(']');
            return end > 0 ? a.substring(0, end + 1) : a;
        }
        int colon = a.indexOf(':');
        return colon >= 0 ? a.substring(0, colon) : a;
    }

    /**
     * 403 for a request to a host name or from an origin that is not allowed; for an allowed foreign origin, adds
     * the CORS headers. Returns true when the request was a CORS preflight that has been fully answered.
     */
    boolean check(Exchange ex) throws java.io.IOException {
        String host = ex.header(HttpHeader.HOST);
        if (hosts != null && host != null && !hosts.contains(hostOf(host))) {
            throw new ApiError(403, "invalid_request_error", null, "host_not_allowed", "requests to the host name '"
                    + hostOf(host) + "' are not accepted by this server (see --allowed-origin)", 0);
        }
        String origin = ex.header(HttpHeader.ORIGIN);
        if (origin == null) return false;
        String o = origin.toLowerCase(Locale.ROOT);
        boolean sameOrigin = host != null && (o.equals("http://" + host.toLowerCase(Locale.ROOT))
                || o.equals("https://" + host.toLowerCase(Locale.ROOT)));
        if (sameOrigin) return false;
        if (!anyOrigin && !origins.contains(o)) {
            throw new ApiError(403, "invalid_request_error", null, "origin_not_allowed", "requests from the origin '"
                    + origin + "' are not accepted by this server (see --allowed-origin)", 0);
        }
        ex.header("Access-Control-Allow-Origin", origin);
        ex.header("Vary", "Origin");
        if (!ex.method.equals("OPTIONS")) return false;
        ex.header("Access-Control-Allow-Methods", "GET, POST");
        ex.header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        ex.header("Access-Control-Max-Age", "600");
        ex.send(204, "text/plain; charset=utf-8", new byte[0]);
        return true;
    }

    /** 415 unless the request declares a JSON body. */
    static void requireJson(Exchange ex) {
        String type = ex.header(HttpHeader.CONTENT_TYPE);
        String base = type == null ? "" : type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
        if (!base.equals("application/json")) {
            throw new ApiError(415, "invalid_request_error", null, "unsupported_media_type",
                    "the request body must be JSON sent with Content-Type: application/json"
                            + (type == null ? " (no Content-Type was given)" : ", not " + type), 0);
        }
    }
}
