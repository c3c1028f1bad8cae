package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.generate.GenerationConfig;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The official {@code openai} npm client (Node), plain and streaming, against the server: installed with npm into
 * {@code target/npm-openai} at test time (once; later runs reuse it). Skipped, saying so, only when npm is missing
 * ({@code bin/test} installs Node and npm).
 */
class OpenAiNpmClientTest {
    static final String VERSION = "6.30.1";   // the newest major that still runs on Node 20 (Debian's nodejs)
    static final String KEY = "npm-test-key";

    static Path onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    static String run(Path dir, int seconds, String... cmd) throws Exception {
        Path out = Files.createTempFile(dir, "out", ".txt");
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
        if (!done) p.destroyForcibly();
        String text = Files.readString(out);
        assertThat(done).as("%s finished: %s", String.join(" ", cmd), text).isTrue();
        assertThat(p.exitValue()).as("%s: %s", String.join(" ", cmd), text).isZero();
        return text;
    }

    @Test
    void theOpenAiNpmClientChatsPlainAndStreaming() throws Exception {
        Path npm = onPath("npm"), node = onPath("node");
        assumeTrue(npm != null && node != null, "npm/node not found on PATH: the openai npm client test is skipped"
                + " (bin/test installs nodejs and npm)");
        Path dir = Files.createDirectories(Path.of("target", "npm-openai")).toAbsolutePath();
        Path installed = dir.resolve("node_modules/openai/package.json");
        if (!Files.exists(installed) || !Files.readString(installed).contains("\"version\": \"" + VERSION + "\"")) {
            Files.writeString(dir.resolve("package.json"), "{\"name\": \"chatglm4j-npm-test\", \"private\": true}\n");
            run(dir, 300, npm.toString(), "install", "--no-audit", "--no-fund", "--silent", "openai@" + VERSION);
        }
        Files.writeString(dir.resolve("client.mjs"), """
                import OpenAI from "openai";
                const client = new OpenAI({ baseURL: process.argv[2], apiKey: process.argv[3], maxRetries: 0 });
                const ask = { model: "chatglm-6b", temperature: 0, max_tokens: 16,
                              messages: [{ role: "user", content: "你好" }] };
                const plain = await client.chat.completions.create(ask);
                const stream = await client.chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } });
                let content = "", chunks = 0, finish = null, usage = null;
                for await (const chunk of stream) {
                  chunks++;
                  if (chunk.usage) usage = chunk.usage;
                  for (const c of chunk.choices) {
                    if (c.delta?.content) content += c.delta.content;
                    if (c.finish_reason) finish = c.finish_reason;
                  }
                }
                let refused = null;
                try {
                  await client.chat.completions.create({ ...ask, n: 3 });
                } catch (e) {
                  refused = { status: e.status, message: e.message };
                }
                console.log(JSON.stringify({ plain: { content: plain.choices[0].message.content,
                  finish: plain.choices[0].finish_reason, usage: plain.usage, model: plain.model },
                  stream: { content, chunks, finish, usage }, refused }));
                """, StandardCharsets.UTF_8);

        try (ChatServer server = ChatServer.start(ServerOptions.defaults().withPort(0).withApiKey(KEY), Fixture.model())) {
            String out = run(dir, 120, node.toString(), "client.mjs", server.uri() + "v1", KEY);
            JsonNode r = Http.Reply.parse(out.lines().reduce((a, b) -> b).orElse(""));
            ChatResponse want = Fixture.model().chat("你好", List.of(), GenerationConfig.greedy(2048).withMaxNewTokens(16));
            assertThat(r.at("/plain/content").asText()).isEqualTo(want.response());
            assertThat(r.at("/plain/model").asText()).isEqualTo("chatglm-6b");
            assertThat(r.at("/plain/usage/completion_tokens").asInt()).isEqualTo(want.completionTokens());
            assertThat(r.at("/stream/content").asText()).isEqualTo(want.response());
            assertThat(r.at("/stream/chunks").asInt()).isGreaterThan(2);
            assertThat(r.at("/stream/finish").asText()).isEqualTo(r.at("/plain/finish").asText());
            assertThat(r.at("/stream/usage")).isEqualTo(r.at("/plain/usage"));
            assertThat(r.at("/refused/status").asInt()).isEqualTo(400);
        }
    }
}
