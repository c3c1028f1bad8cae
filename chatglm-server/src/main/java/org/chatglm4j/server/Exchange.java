package org.chatglm4j.server;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One HTTP request and its response, handled on its own (virtual) thread with blocking writes, plus what the
 * request log reports about it.
 */
final class Exchange {
    /** A client that does not read what we send for this long is treated as gone. */
    static final long WRITE_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(30);

    final Request request;
    final Response response;
    private final Callback callback;
    final String method;
    final String path;
    final long startNanos = System.nanoTime();

    int status;
    int tokensIn = -1;
    int tokensOut = -1;
    /** The reply's generation, for the metrics; null when the request generated nothing. */
    org.chatglm4j.generate.GenerationResult generation;
    String note = "";
    private boolean written;
    private boolean completed;

    Exchange(Request request, Response response, Callback callback) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.method = request.getMethod();
        this.path = Request.getPathInContext(request);
    }

    String header(HttpHeader h) {
        return request.getHeaders().get(h);
    }

    /** Whether any of the response went out (after that, a failure can no longer change the status). */
    boolean hasWritten() {
        return written;
    }

    /** Reads the whole body, refusing (413) more than {@code limit} bytes, declared or sent. */
    byte[] readBody(long limit) {
        long declared = request.getLength();
        if (declared > limit) throw ApiError.tooLarge(limit);
        try (InputStream in = Request.asInputStream(request)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(Math.max(declared, 256), limit));
            byte[] buf = new byte[8192];
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (total > limit) throw ApiError.tooLarge(limit);
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new ApiError(400, "invalid_request_error", null, "bad_body", "could not read the request body: "
                    + e.getMessage(), 0);
        }
    }

    void send(int code, String contentType, byte[] body) throws IOException {
        if (written) throw new IllegalStateException("response already started");
        status = code;
        response.setStatus(code);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.getHeaders().put("X-Content-Type-Options", "nosniff");
        write(true, method.equals("HEAD") ? new byte[0] : body);
    }

    void sendJson(int code, String json) throws IOException {
        send(code, "application/json; charset=utf-8", json.getBytes(StandardCharsets.UTF_8));
    }

    void header(String name, String value) {
        response.getHeaders().put(name, value);
    }

    /** Starts a streamed response (headers go out with the first write; until then an error can replace it). */
    void startStream(int code, String contentType) {
        if (written) throw new IllegalStateException("response already started");
        status = code;
        response.setStatus(code);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        response.getHeaders().put("X-Accel-Buffering", "no");
    }

    /** Forgets the headers of a stream that has not started, so that an error response can be sent instead. */
    void resetUnwritten() {
        if (!written) response.reset();
    }

    /** Writes and waits until the bytes are handed to the network; fails when the client is gone or stalls. */
    void write(boolean last, byte[] bytes) throws IOException {
        written = true;
        Callback.Completable done = new Callback.Completable();
        response.write(last, ByteBuffer.wrap(bytes), done);
        try {
            done.get(WRITE_TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("the client did not read the response for "
                    + TimeUnit.NANOSECONDS.toSeconds(WRITE_TIMEOUT_NANOS) + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing");
        }
        if (last) complete(null);
    }

    /** Finishes the exchange: a failure aborts the connection (a stream cut short must not look complete). */
    void complete(Throwable failure) {
        if (completed) return;
        completed = true;
        if (failure == null) callback.succeeded();
        else callback.failed(failure);
    }

    long millis() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    static String remote(Request r) {
        HttpField f = r.getHeaders().getField(HttpHeader.X_FORWARDED_FOR);
        return Request.getRemoteAddr(r) + (f != null ? " (for " + f.getValue() + ")" : "");
    }
}
