package org.chatglm4j.langchain4j;

import dev.langchain4j.memory.chat.MessageWindowChatMemory;
import dev.langchain4j.service.AiServices;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.GenerationConfig;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The AiServices example of the module's README, run on the fixture model; keep the two in step. */
class AiServicesExampleTest {

    // README: begin
    interface Assistant {
        String chat(String message);
    }

    static String[] example(Path modelFolder) {
        try (ChatGlmChatModel model = ChatGlmChatModel.builder()
                .modelPath(modelFolder)            // or .modelId("THUDM/chatglm-6b"), .quantization(QuantFormat.Q4)
                .temperature(0.0)                  // greedy
                .maxOutputTokens(16)
                .build()) {
            Assistant assistant = AiServices.builder(Assistant.class)
                    .chatModel(model)
                    .chatMemory(MessageWindowChatMemory.withMaxMessages(10))
                    .build();
            String first = assistant.chat("你好");
            String second = assistant.chat("晚上睡不着应该怎么办");   // sees the first round through the memory
            return new String[] {first, second};
        }
    }
    // README: end

    @Test
    void readmeExampleRunsAndKeepsTheConversation() throws Exception {
        String[] replies = example(TestModels.fixture());
        try (ChatGLM glm = ChatGLM.load(TestModels.fixture(), LoadOptions.defaults().withThreads(1))) {
            GenerationConfig greedy = GenerationConfig.greedy(2048).withMaxNewTokens(16);
            var first = glm.chat("你好", List.of(), greedy);
            var second = glm.chat("晚上睡不着应该怎么办", List.of(new Round("你好", first.response())), greedy);
            assertThat(replies).containsExactly(first.response(), second.response());
        }
        String readme = java.nio.file.Files.readString(Path.of("README.md"));
        String source = java.nio.file.Files.readString(
                Path.of("src/test/java/org/chatglm4j/langchain4j/AiServicesExampleTest.java"));
        String block = source.substring(source.indexOf("// README: begin\n") + 17, source.indexOf("    // README: end"));
        for (String line : block.lines().filter(l -> !l.isBlank()).toList()) {
            assertThat(readme).as("README.md shows the example").contains(line.substring(4));
        }
    }
}
