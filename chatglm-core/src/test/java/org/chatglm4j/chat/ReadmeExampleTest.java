package org.chatglm4j.chat;

import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Keeps examples/HelloChatGLM.java (the README's library example) true: the same calls, on a fixture model. */
class ReadmeExampleTest {

    @Test
    void theReadmeExampleRuns() throws Exception {
        Path model = Fixtures.path("model_a/checkpoint");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        try (ChatGLM glm = ChatGLM.load(model)) {
            ChatResponse r = glm.chat("你好", List.of());
            out.println(r.response());
            GenerationConfig greedy = GenerationConfig.greedy(2048).withMaxNewTokens(256);
            ChatResponse second = glm.streamChat("晚上睡不着应该怎么办", r.history(), greedy,
                    (delta, soFar) -> out.print(delta), null);
            out.println();
            assertThat(buf.toString(StandardCharsets.UTF_8)).endsWith(second.response() + System.lineSeparator());
            assertThat(second.history()).hasSize(2);
        }
        // the example file calls exactly these methods
        String example = Files.readString(Fixtures.root().resolve("../../../../examples/HelloChatGLM.java").normalize());
        assertThat(example).contains("ChatGLM.load(Path.of(args[0]))", "glm.chat(\"你好\", List.of())",
                "GenerationConfig.greedy(2048).withMaxNewTokens(256)", "glm.streamChat(\"晚上睡不着应该怎么办\", r.history(), greedy,");
    }
}
