package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Continuous batching gives every request exactly the reply it would get alone, and manages its slots. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchingEngineTest {
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
    void concurrentRequestsDecodedTogetherGetTheReferenceReplies() throws Exception {
        // every round of the golden transcript, plus the golden generations used as chat queries, all at once
        List<Runnable> checks = new ArrayList<>();
        try (BatchingEngine engine = new BatchingEngine(glm, 4, 16);
             ExecutorService pool = Executors.newFixedThreadPool(10)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int copy = 0; copy < 3; copy++) {
                List<Round> history = new ArrayList<>();
                for (JsonNode round : Fixtures.json("model_a/generate.json").get("chats").get(0).get("rounds")) {
                    List<Round> h = List.copyOf(history);
                    String q = round.get("query").asText();
                    int maxLength = round.get("max_length").asInt();
                    String want = round.get("response").asText();
                    StringBuilder streamed = new StringBuilder();
                    futures.add(pool.submit(() -> {
                        ChatResponse r = engine.streamChat(q, h, GenerationConfig.greedy(maxLength),
                                (delta, full) -> streamed.append(delta), null);
                        assertThat(r.response()).as(q).isEqualTo(want);
                        assertThat(streamed.toString()).isEqualTo(want);
                        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
                        return null;
                    }));
                    history.add(new Round(q, want));
                }
            }
            for (Future<?> f : futures) f.get(120, TimeUnit.SECONDS);
            assertThat(engine.inFlight()).isZero();
        }
    }

    @Test
    void cancellationFreesTheSlotAndBusyEnginesRefuse() throws Exception {
        try (BatchingEngine engine = new BatchingEngine(glm, 1, 1);
             ExecutorService pool = Executors.newFixedThreadPool(3)) {
            Cancellation cancel = new Cancellation();
            CountDownLatch started = new CountDownLatch(1);
            GenerationConfig lots = GenerationConfig.greedy(2000);
            Future<ChatResponse> first = pool.submit(() -> engine.streamChat("你好", List.of(), lots,
                    (d, r) -> started.countDown(), cancel));
            assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
            Future<ChatResponse> second = pool.submit(() -> engine.streamChat("Hello", List.of(),
                    GenerationConfig.greedy(12), null, null));
            // one decoding, one waiting: a third is refused
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (engine.inFlight() < 2 && System.nanoTime() < deadline) Thread.sleep(5);
            assertThatThrownBy(() -> engine.streamChat("again", List.of(), lots, null, null))
                    .isInstanceOf(EngineBusyException.class);
            cancel.cancel();
            assertThat(first.get(30, TimeUnit.SECONDS).finishReason()).isEqualTo(FinishReason.CANCELLED);
            ChatResponse r = second.get(60, TimeUnit.SECONDS);
            assertThat(r.response()).isEqualTo(glm.chat("Hello", List.of(), GenerationConfig.greedy(12)).response());
            assertThat(engine.inFlight()).isZero();
        }
    }

    @Test
    void stopStringsEndTheReplyBeforeThem() {
        try (BatchingEngine engine = new BatchingEngine(glm, 2, 2)) {
            ChatResponse full = engine.streamChat("你好", List.of(), GenerationConfig.greedy(20), null, null);
            String stop = full.response().substring(3, 5);
            ChatResponse cut = engine.streamChat("你好", List.of(),
                    GenerationConfig.greedy(20).withStop(List.of(stop)), null, null);
            assertThat(cut.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(full.response()).startsWith(cut.response());
            assertThat(cut.response()).doesNotContain(stop);
        }
    }
}
