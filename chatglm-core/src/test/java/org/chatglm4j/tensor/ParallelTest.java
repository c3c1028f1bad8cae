package org.chatglm4j.tensor;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ParallelTest {

    @Test
    void everyItemRunsExactlyOnceAcrossManyDispatches() {
        try (Parallel pool = new Parallel(3)) {
            for (int round = 0; round < 2000; round++) {
                int n = 1 + round % 97;
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                boolean[] workers = new boolean[3];
                pool.forRange(n, 1, (s, e, w) -> {
                    workers[w] = true;
                    for (int i = s; i < e; i++) hits.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertThat(hits.get(i)).as("round %d item %d", round, i).isEqualTo(1);
            }
        }
    }

    @Test
    void aFailureInAWorkerReachesTheCaller() {
        try (Parallel pool = new Parallel(2)) {
            assertThatThrownBy(() -> pool.forRange(10, 1, (s, e, w) -> {
                if (s > 0) throw new IllegalStateException("boom");
            })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
            // and the pool still works afterwards
            int[] sum = new int[1];
            pool.forRange(10, 100, (s, e, w) -> sum[0] += e - s);
            assertThat(sum[0]).isEqualTo(10);
        }
    }
}
