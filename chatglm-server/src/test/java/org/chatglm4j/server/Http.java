package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A plain HTTP client for the tests: JSON requests, SSE streams, and raw sockets for misbehaving clients. */
final class Http {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    record Reply(int status, java.net.http.HttpHeaders headers, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + body, e);
            }
        }

        static JsonNode parse(String json) {
            try {
                return JSON.readTree(json);
            } catch (IOException e) {
                throw new UncheckedIOException("not JSON: " + json, e);
            }
        }

        /** The data payloads of an SSE body, in order ({@code [DONE]} included as text). */
        List<String> events() {
            List<String> out = new ArrayList<>();
            for (String block : body.split("\n\n")) {
                for (String line : block.split("\n")) if (line.startsWith("data: ")) out.add(line.substring(6));
            }
            return out;
        }
    }

    private final URI base;
    private final String apiKey;

    Http(URI base) {
        this(base, null);
    }

    Http(URI base, String apiKey) {
        this.base = base;
        this.apiKey = apiKey;
    }

    Reply get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET());
    }

    Reply post(String path, String body) {
        return post(path, body, "application/json");
    }

    Reply post(String path, String body, String contentType) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path))
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (contentType != null) b.header("Content-Type", contentType);
        return send(b);
    }

    Reply postBytes(String path, byte[] body) {
        return send(HttpRequest.newBuilder(base.resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    Reply post(String path, Object json) {
        try {
            return post(path, JSON.writeValueAsString(json));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Reply send(HttpRequest.Builder b) {
        if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
        b.timeout(Duration.ofSeconds(60));
        try {
            HttpResponse<String> r = CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            return new Reply(r.statusCode(), r.headers(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A raw HTTP/1.1 connection: sends a request and lets the test read the answer line by line, or hang up. */
    static final class Raw implements AutoCloseable {
        final Socket socket;
        final BufferedReader in;

        Raw(URI base, String method, String path, String body) throws IOException {
            socket = new Socket(base.getHost(), base.getPort());
            socket.setSoTimeout(30_000);
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            String head = method + " " + path + " HTTP/1.1\r\nHost: " + base.getHost() + "\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n";
            OutputStream out = socket.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
        }

        String statusLine() throws IOException {
            return in.readLine();
        }

        /** Reads until a line satisfying the test appears (or the stream ends: null). */
        String readUntil(java.util.function.Predicate<String> test) throws IOException {
            String line;
            while ((line = in.readLine()) != null) if (test.test(line)) return line;
            return null;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
