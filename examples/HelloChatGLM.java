import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.generate.GenerationConfig;

import java.nio.file.Path;
import java.util.List;

/**
 * The README's library example, runnable as a single-file program once the project is built:
 *
 *   java --add-modules jdk.incubator.vector -cp "chatglm-cli/target/lib/*" examples/HelloChatGLM.java PATH_TO_MODEL
 */
public class HelloChatGLM {
    public static void main(String[] args) {
        try (ChatGLM glm = ChatGLM.load(Path.of(args[0]))) {
            // like model.chat(tokenizer, "你好", history=[]) in Python (sampling with the reference defaults)
            ChatResponse r = glm.chat("你好", List.of());
            System.out.println(r.response());

            // the next round, streamed as it is generated; greedy decoding, at most 256 new tokens
            GenerationConfig greedy = GenerationConfig.greedy(2048).withMaxNewTokens(256);
            glm.streamChat("晚上睡不着应该怎么办", r.history(), greedy,
                    (delta, soFar) -> System.out.print(delta), null);
            System.out.println();
        }
    }
}
