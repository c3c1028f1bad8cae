package org.chatglm4j.chat;

import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The scheduler survives any failure of a step, and queued requests honour their cancellation at once. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)   // before the fix, a failed step left callers waiting forever
class BatchingEngineFailureTest {
    ChatGLM glm;

    @BeforeAll
    void load() {
        glm = ChatGLM.load(Fixtures.path("model_a/checkpoint"), LoadOptions.defaults().withThreads(2));
    }

    @AfterAll
    void close() {
        glm.close();
    }

    @Test
    void anErrorInAStepFailsThatStepsRequestsAndTheEngineKeepsServing() {
        try (BatchingEngine engine = new BatchingEngine(glm, 2, 2)) {
            AtomicInteger failures = new AtomicInteger(1);
            engine.beforeForward = () -> {
                if (failures.getAndDecrement() > 0) throw new OutOfMemoryError("test: no room for the KV cache");
            };
            assertThatThrownBy(() -> engine.streamChat("你好", List.of(), GenerationConfig.greedy(12), null, null))
                    .isInstanceOf(EngineFailureException.class).hasMessageContaining("OutOfMemoryError");
            assertThat(engine.inFlight()).isZero();
            assertThat(engine.healthy()).isTrue();
            ChatResponse r = engine.streamChat("你好", List.of(), GenerationConfig.greedy(12), null, null);
            assertThat(r.response()).isEqualTo(glm.chat("你好", List.of(), GenerationConfig.greedy(12)).response());
        }
    }

    @Test
    void stepsThatKeepFailingMakeTheEngineUnhealthyUntilOneSucceeds() {
        try (BatchingEngine engine = new BatchingEngine(glm, 1, 4)) {
            engine.beforeForward = () -> {
                throw new StackOverflowError("test");
            };
            for (int i = 0; i < 3; i++) {
                assertThatThrownBy(() -> engine.streamChat("x", List.of(), GenerationConfig.greedy(8), null, null))
                        .isInstanceOf(EngineFailureException.class);
            }
            assertThat(engine.healthy()).isFalse();
            assertThat(engine.inFlight()).isZero();
            engine.beforeForward = null;
            assertThat(engine.streamChat("x", List.of(), GenerationConfig.greedy(8), null, null).response()).isNotNull();
            assertThat(engine.healthy()).isTrue();
        }
    }

    @Test
    void aCancelledRequestLeavesTheQueueAtOnce() throws Exception {
        try (BatchingEngine engine = new BatchingEngine(glm, 1, 2)) {
            engine.beforeForward = () -> {
                try {
                    Thread.sleep(20);   // the one slot stays busy for far longer than the test
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            Cancellation first = new Cancellation();
            CompletableFuture<ChatResponse> running = CompletableFuture.supplyAsync(
                    () -> engine.streamChat("你好", List.of(), GenerationConfig.greedy(2000), null, first), Thread::startVirtualThread);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (engine.inFlight() < 1 && System.nanoTime() < deadline) Thread.sleep(5);
            Cancellation second = new Cancellation();
            CompletableFuture<ChatResponse> queued = CompletableFuture.supplyAsync(
                    () -> engine.streamChat("Hello", List.of(), GenerationConfig.greedy(2000), null, second), Thread::startVirtualThread);
            while (engine.queued() < 1 && System.nanoTime() < deadline) Thread.sleep(5);
            assertThat(engine.queued()).isEqualTo(1);
            second.cancel();
            ChatResponse r = queued.get(2, TimeUnit.SECONDS);
            assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(r.completionTokens()).isZero();
            assertThat(running).isNotDone();
            assertThat(engine.queued()).isZero();
            assertThat(engine.inFlight()).isEqualTo(1);
            first.cancel();
            assertThat(running.get(20, TimeUnit.SECONDS).finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(engine.inFlight()).isZero();
        }
    }
}
