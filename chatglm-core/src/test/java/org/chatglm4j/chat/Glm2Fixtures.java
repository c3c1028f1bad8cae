package org.chatglm4j.chat;

import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.PrefixEncoder;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tokenizer.Glm2Tokenizer;

import java.nio.file.Path;
import java.util.List;

/** Builds a ChatGLM2/3 {@link ChatGLM} from a fixture checkpoint (until ChatGLM.load reads these folders). */
final class Glm2Fixtures {
    private Glm2Fixtures() {
    }

    static ChatGLM load(Path folder, String family, LoadOptions options) {
        ChatGlmConfig cfg = ChatGlmConfig.load(folder.resolve("config.json"));
        Checkpoint ck = Checkpoint.open(folder);
        Parallel pool = new Parallel(options.threads());
        PrefixEncoder prefix = null;
        if (options.ptuning() != null) {
            ChatGlmConfig p = ChatGlmConfig.load(options.ptuning().resolve("config.json"));
            try (Checkpoint pck = Checkpoint.open(options.ptuning())) {
                prefix = PrefixEncoder.load(cfg.withPrefix(p.preSeqLen(), p.prefixProjection()), pck.tensors(),
                        options.ptuning().toString());
            }
        }
        ChatGlmModel model = new ChatGlmModel(ChatGlmWeights.load(cfg, ck.tensors(), folder.toString()), prefix, pool);
        boolean v3 = family.equals("glm3");
        Glm2Tokenizer tok = Glm2Tokenizer.load(folder, v3);
        return new ChatGLM(null, model, List.of(ck, pool), v3 ? Glm3ChatFormat.INSTANCE : Glm2ChatFormat.INSTANCE,
                PromptTokenizer.of(tok));
    }
}
