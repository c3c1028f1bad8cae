package org.chatglm4j.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The multi-query kernels of {@link KvCache} ({@code scoresShared}, {@code weightedValuesShared}) against their plain
 * scalar definition, for both precisions, several heads per group and key counts that end mid-block.
 */
class KvCacheSharedTest {

    @ParameterizedTest
    @CsvSource({"F32, 16, 3, 1", "F32, 32, 1, 70", "F16, 16, 4, 129", "F16, 128, 2, 65", "F32, 128, 16, 200"})
    void sharedKernelsMatchTheirScalarTwin(KvCache.Precision precision, int d, int nq, int keys) {
        SplittableRandom rnd = new SplittableRandom(keys * 31L + d);
        int groups = 2, layer = 1, g = 1;
        float[][] k = new float[keys][d], v = new float[keys][d];
        try (KvCache cache = new KvCache(2, groups, d, precision)) {
            cache.reserve(keys);
            for (int c = 0; c < keys; c++) {
                for (int j = 0; j < d; j++) {
                    k[c][j] = round(precision, (float) rnd.nextGaussian());
                    v[c][j] = round(precision, (float) rnd.nextGaussian());
                }
                cache.put(layer, c, g, k[c], 0, v[c], 0);
                cache.put(layer, c, 0, new float[d], 0, new float[d], 0);   // the other group: zeros
            }
            cache.advance(keys);
            float[] q = new float[nq * d];
            for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
            int stride = keys + 3;
            float[] scores = new float[nq * stride];
            cache.scoresShared(layer, g, q, 0, nq, keys, scores, stride, new float[d]);
            float[] p = new float[nq * stride];
            for (int j = 0; j < nq; j++) {
                for (int c = 0; c < keys; c++) {
                    double want = 0;
                    for (int x = 0; x < d; x++) want += (double) q[j * d + x] * k[c][x];
                    assertThat(scores[j * stride + c]).as("score q%d k%d", j, c).isCloseTo((float) want, within(1e-3f));
                    p[j * stride + c] = (float) rnd.nextDouble();
                }
            }
            int oOff = 5, oStride = d + 8;
            float[] out = new float[oOff + nq * oStride];
            for (int i = 0; i < out.length; i++) out[i] = 0.5f;   // accumulates into what is there
            cache.weightedValuesShared(layer, g, p, stride, nq, keys, out, oOff, oStride, new float[d]);
            for (int j = 0; j < nq; j++) {
                for (int x = 0; x < d; x++) {
                    double want = 0.5;
                    for (int c = 0; c < keys; c++) want += (double) p[j * stride + c] * v[c][x];
                    assertThat(out[oOff + j * oStride + x]).as("value q%d dim %d", j, x)
                            .isCloseTo((float) want, within(2e-3f));
                }
            }
            assertThat(out[0]).isEqualTo(0.5f);
        }
    }

    private static float round(KvCache.Precision p, float x) {
        return p == KvCache.Precision.F16 ? Float.float16ToFloat(Float.floatToFloat16(x)) : x;
    }
}
