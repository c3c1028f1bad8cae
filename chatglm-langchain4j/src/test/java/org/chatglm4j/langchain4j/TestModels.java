package org.chatglm4j.langchain4j;

import org.chatglm4j.testing.Fixtures;

import java.nio.file.Path;

/**
 * The model the tests run: the tiny random-weight fixture (model_a of the shared fixtures, via chatglm-core's
 * test jar), or a real ChatGLM-6B when {@code -Dchatglm.langchain4j.model=PATH_OR_REPO_ID} is given. Checks of what
 * a reply says ("Berlin") need the real model; they are skipped on the fixture, whose replies are random tokens.
 */
public final class TestModels {
    private static ChatGlmRuntime shared;

    private TestModels() {
    }

    /** The real model's path or repo id, or null on the fixture. */
    public static String realModel() {
        String m = System.getProperty("chatglm.langchain4j.model");
        return m == null || m.isBlank() ? null : m;
    }

    public static boolean isReal() {
        return realModel() != null;
    }

    /** Why content checks are skipped on the fixture. */
    public static final String CONTENT_NEEDS_REAL_MODEL = "checks what the reply says; the fixture model has random"
            + " weights (run with -Dchatglm.langchain4j.model=PATH to check it against ChatGLM-6B)";

    public static Path fixture() {
        return Fixtures.path("model_a/checkpoint");
    }

    /** One runtime shared by every test class of this module (read-only; chats are batched). */
    public static synchronized ChatGlmRuntime shared() {
        if (shared == null) {
            ChatGlmRuntime.Builder b = ChatGlmRuntime.builder().threads(2).maxConcurrentChats(4);
            String real = realModel();
            if (real == null) b.modelPath(fixture());
            else if (java.nio.file.Files.exists(Path.of(real))) b.modelPath(Path.of(real));
            else b.modelId(real);
            shared = b.build();
        }
        return shared;
    }
}
