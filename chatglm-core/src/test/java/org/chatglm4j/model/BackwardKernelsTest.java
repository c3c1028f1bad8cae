package org.chatglm4j.model;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

/** The attention backward's vector dot and axpy against plain loops, on ragged lengths and offsets. */
class BackwardKernelsTest {

    @Test
    void dotAndAxpyMatchPlainLoops() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int len : new int[]{1, 3, 7, 8, 15, 16, 17, 31, 64, 100, 128, 129}) {
            float[] a = random(rnd, len + 5), b = random(rnd, len + 9);
            int ao = 5, bo = 9;
            double want = 0;
            for (int d = 0; d < len; d++) want += (double) a[ao + d] * b[bo + d];
            assertThat((double) Backward.dot(a, ao, b, bo, len)).as("dot, %d", len).isCloseTo(want, offset(1e-4 * len));

            float[] y = random(rnd, len + 3), expected = y.clone();
            float alpha = (float) rnd.nextGaussian();
            for (int d = 0; d < len; d++) expected[3 + d] += alpha * a[ao + d];
            Backward.axpy(alpha, a, ao, y, 3, len);
            assertThat(y).as("axpy, %d", len).containsExactly(expected, offset(1e-5f));
        }
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return v;
    }
}
