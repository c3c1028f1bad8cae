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

    /** Beam searches run as K sequences of the batch, next to greedy requests, with the reference's replies. */
    @Test
    void beamSearchesShareTheBatchWithOtherRequests() throws Exception {
        List<JsonNode> cases = new ArrayList<>();
        for (JsonNode c : Fixtures.json("beam/beam.json").get("cases")) {
            if (c.get("kind").asText().equals("chat") && c.get("model").asText().contains("model_a")) cases.add(c);
        }
        JsonNode greedy = Fixtures.json("model_a/generate.json").get("chats").get(0).get("rounds").get(0);
        try (BatchingEngine engine = new BatchingEngine(glm, 5, 16);
             ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> futures = new ArrayList<>();
            for (JsonNode c : cases) {
                List<Round> history = new ArrayList<>();
                for (JsonNode pair : c.get("history")) history.add(new Round(pair.get(0).asText(), pair.get(1).asText()));
                GenerationConfig cfg = GenerationConfig.greedy(c.get("max_length").asInt()).withBeams(
                        c.get("num_beams").asInt(), c.get("length_penalty").asDouble(), c.get("early_stopping").asBoolean());
                futures.add(pool.submit(() -> {
                    List<String> deltas = new ArrayList<>();
                    ChatResponse r = engine.streamChat(c.get("query").asText(), history, cfg,
                            (delta, full) -> deltas.add(delta), null);
                    assertThat(r.response()).as(c.get("name").asText()).isEqualTo(c.get("response").asText());
                    assertThat(r.generation().generatedIds()).containsExactly(Fixtures.ints(c.get("generated_ids")));
                    assertThat(deltas).hasSizeLessThanOrEqualTo(1);
                    return null;
                }));
                futures.add(pool.submit(() -> {
                    ChatResponse r = engine.streamChat(greedy.get("query").asText(), List.of(),
                            GenerationConfig.greedy(greedy.get("max_length").asInt()), null, null);
                    assertThat(r.response()).isEqualTo(greedy.get("response").asText());
                    return null;
                }));
            }
            for (Future<?> f : futures) f.get(120, TimeUnit.SECONDS);
            assertThat(engine.inFlight()).isZero();
            // more beams than slots: the search runs alone
            JsonNode c = cases.getFirst();
            try (BatchingEngine small = new BatchingEngine(glm, 2, 1)) {
                assertThat(c.get("num_beams").asInt()).isGreaterThan(2);
                ChatResponse r = small.streamChat(c.get("query").asText(), List.of(), GenerationConfig.greedy(
                        c.get("max_length").asInt()).withBeams(c.get("num_beams").asInt(), 1.0, false), null, null);
                assertThat(r.response()).isEqualTo(c.get("response").asText());
            }
            assertThatThrownBy(() -> engine.streamChat("hi", List.of(),
                    GenerationConfig.chatDefaults().withBeams(3, 1.0, false), null, null))
                    .hasMessageContaining("beam sampling");
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
