package org.chatglm4j.model;

import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.testing.Fixtures;

/** Loads fixture models for tests; close it to unmap the checkpoint and stop the pool. */
public record TestModels(ChatGlmModel model, Checkpoint checkpoint, Parallel pool) implements AutoCloseable {

    public static TestModels load(String fixtureDir, int threads) {
        Checkpoint ck = Checkpoint.open(Fixtures.path(fixtureDir));
        ChatGlmConfig cfg = ChatGlmConfig.load(Fixtures.path(fixtureDir).resolve("config.json"));
        Parallel pool = new Parallel(threads);
        return new TestModels(new ChatGlmModel(ChatGlmWeights.load(cfg, ck.tensors(), fixtureDir), pool), ck, pool);
    }

    @Override
    public void close() {
        checkpoint.close();
        pool.close();
    }
}
