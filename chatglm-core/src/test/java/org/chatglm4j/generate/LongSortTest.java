package org.chatglm4j.generate;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class LongSortTest {

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {0, 1, 2, 3, 24, 25, 26, 100, 1000, 4097, 9001})
    void sortsLikeArraysSort(int n) {
        SplittableRandom random = new SplittableRandom(n);
        for (int pattern = 0; pattern < 7; pattern++) {
            long[] a = new long[n];
            for (int i = 0; i < n; i++) {
                a[i] = switch (pattern) {
                    case 0 -> random.nextLong();
                    case 1 -> random.nextInt(5) - 2;          // many duplicates
                    case 2 -> i;                                // sorted
                    case 3 -> n - i;                            // reversed
                    case 4 -> 7;                                // all equal
                    case 5 -> i % 2 == 0 ? i : -i;              // organ-pipe-ish
                    default -> random.nextBoolean() ? Long.MIN_VALUE : Long.MAX_VALUE;
                };
            }
            for (int depth : new int[]{-1, 0, 1}) {
                // sort a middle range and check that the rest is untouched
                long[] copy = new long[n + 4];
                copy[0] = copy[1] = 11;
                copy[n + 2] = copy[n + 3] = -11;
                System.arraycopy(a, 0, copy, 2, n);
                if (depth < 0) LongSort.sort(copy, 2, n + 2);
                else LongSort.sort(copy, 2, n + 2, depth); // 0: heapsort only, 1: one partition then heapsort
                long[] expected = a.clone();
                Arrays.sort(expected);
                assertThat(Arrays.copyOfRange(copy, 2, n + 2)).as("pattern %d depth %d", pattern, depth)
                        .containsExactly(expected);
                assertThat(new long[]{copy[0], copy[1], copy[n + 2], copy[n + 3]}).containsExactly(11, 11, -11, -11);
            }
        }
    }
}
