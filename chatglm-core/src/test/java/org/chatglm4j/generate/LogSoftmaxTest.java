package org.chatglm4j.generate;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The vector {@link LogSoftmax} against its scalar twin and a double-precision reference. */
class LogSoftmaxTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 16, 33, 130, 1031})
    void vectorMatchesScalarTwin(int n) {
        Random r = new Random(n);
        float[] in = new float[n + 5];
        for (int i = 0; i < in.length; i++) in[i] = (float) (r.nextGaussian() * 8 + 300);   // large logits
        float[] v = new float[n + 3], s = new float[n + 3];
        LogSoftmax.apply(in, 5, n, v, 3);
        LogSoftmax.applyScalar(in, 5, n, s, 3);
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, in[5 + i]);
        for (int i = 0; i < n; i++) sum += Math.exp(in[5 + i] - max);
        for (int i = 0; i < n; i++) {
            double exact = in[5 + i] - max - Math.log(sum);
            assertThat(v[3 + i]).isCloseTo(s[3 + i], within(2e-5f));
            assertThat((double) v[3 + i]).isCloseTo(exact, within(3e-5));
        }
    }

    @ParameterizedTest
    @ValueSource(floats = {Float.NaN, Float.POSITIVE_INFINITY})
    void anInvalidLogitMakesTheRowInvalid(float bad) {
        float[] in = new float[40];
        in[17] = bad;
        float[] out = new float[40];
        LogSoftmax.apply(in, 0, 40, out, 0);
        assertThat(InvalidScoreGuard.hasInvalid(out, 0, 40)).isTrue();
    }
}
