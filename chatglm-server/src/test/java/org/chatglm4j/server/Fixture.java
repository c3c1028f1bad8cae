package org.chatglm4j.server;

import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.testing.Fixtures;

/** The tiny fixture model, loaded once for all server tests (it is read-only; ChatGLM serializes generations). */
final class Fixture {
    private static ChatGLM model;

    private Fixture() {
    }

    static synchronized ChatGLM model() {
        if (model == null) model = ChatGLM.load(Fixtures.path("model_a/checkpoint"), LoadOptions.defaults().withThreads(2));
        return model;
    }
}
