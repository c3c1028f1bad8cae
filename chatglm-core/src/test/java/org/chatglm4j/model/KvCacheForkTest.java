package org.chatglm4j.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link KvCache#fork()}: shared blocks, copy-on-write of the block written into, memory reused. */
class KvCacheForkTest {
    private static final int LAYERS = 2, HEADS = 3, HD = 8;

    /** A value that identifies (tag, layer, pos, head, dim) and is exact in fp16. */
    private static float value(int tag, int layer, int pos, int head, int d) {
        return tag * 512 + ((layer * 131 + pos * 7 + head * 3 + d) % 256) - 128;
    }

    private static void write(KvCache c, int pos, int tag) {
        c.reserve(pos + 1);
        float[] k = new float[HD], v = new float[HD];
        for (int l = 0; l < LAYERS; l++) {
            for (int h = 0; h < HEADS; h++) {
                for (int d = 0; d < HD; d++) {
                    k[d] = value(tag, l, pos, h, d);
                    v[d] = -value(tag, l, pos, h, d);
                }
                c.put(l, pos, h, k, 0, v, 0);
            }
        }
        c.advance(1);
    }

    /** Checks every cached key (through scores with one-hot queries) and value (weighted by one-hot p). */
    private static void assertHolds(KvCache c, int[] tags) {
        int n = tags.length;
        assertThat(c.length()).isEqualTo(n);
        float[] q = new float[HD], out = new float[Math.max(n, KvCache.BLOCK)], p = new float[n], ctx = new float[HD];
        for (int l = 0; l < LAYERS; l++) {
            for (int h = 0; h < HEADS; h++) {
                for (int d = 0; d < HD; d++) {
                    java.util.Arrays.fill(q, 0);
                    q[d] = 1;
                    c.scores(l, h, q, n, out);
                    for (int pos = 0; pos < n; pos++) {
                        assertThat(out[pos]).as("key l%d h%d d%d pos %d", l, h, d, pos).isEqualTo(value(tags[pos], l, pos, h, d));
                    }
                }
                for (int pos = 0; pos < n; pos += 17) {
                    java.util.Arrays.fill(p, 0);
                    p[pos] = 1;
                    java.util.Arrays.fill(ctx, 0);
                    c.weightedValues(l, h, p, n, ctx, 0);
                    for (int d = 0; d < HD; d++) assertThat(ctx[d]).isEqualTo(-value(tags[pos], l, pos, h, d));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = KvCache.Precision.class, names = {"F32", "F16"})
    void forksShareThePastAndWritePrivately(KvCache.Precision precision) {
        KvCache a = new KvCache(LAYERS, HEADS, HD, precision);
        int n = KvCache.BLOCK + 6;   // one full block and a partial one
        int[] tags = new int[n];
        for (int pos = 0; pos < n; pos++) write(a, pos, 0);
        int before = a.familyBlocks();
        KvCache b = a.fork();
        assertThat(a.familyBlocks()).as("a fork allocates nothing").isEqualTo(before);
        assertHolds(b, tags);

        write(a, n, 1);
        write(b, n, 2);
        int[] ta = java.util.Arrays.copyOf(tags, n + 1), tb = ta.clone();
        ta[n] = 1;
        tb[n] = 2;
        assertHolds(a, ta);
        assertHolds(b, tb);
        assertThat(a.familyBlocks()).as("only the partial block was copied").isEqualTo(before + 1);

        // rewriting inside a full shared block copies it too
        b.truncate(10);
        write(b, 10, 3);
        int[] tb2 = java.util.Arrays.copyOf(tags, 11);
        tb2[10] = 3;
        assertHolds(b, tb2);
        assertHolds(a, ta);

        a.close();
        assertHolds(b, tb2);
        assertThatThrownBy(a::fork).isInstanceOf(IllegalStateException.class);
        b.close();
        b.close();   // idempotent
    }

    @ParameterizedTest
    @EnumSource(value = KvCache.Precision.class, names = {"F32", "F16"})
    void beamLikeReorderingReusesFreedBlocks(KvCache.Precision precision) {
        KvCache[] beams = {new KvCache(LAYERS, HEADS, HD, precision), null, null, null};
        for (int pos = 0; pos < 5; pos++) write(beams[0], pos, 0);
        for (int i = 1; i < 4; i++) beams[i] = beams[0].fork();
        for (int step = 0; step < 3 * KvCache.BLOCK; step++) {
            // every beam continues beam 0: three forks and three closes per step, three partial blocks copied
            KvCache src = beams[0];
            KvCache[] next = {src, src.fork(), src.fork(), src.fork()};
            for (int i = 1; i < 4; i++) beams[i].close();
            beams = next;
            for (int i = 0; i < 4; i++) write(beams[i], beams[i].length(), i);
        }
        int[] tags = new int[beams[3].length()];
        tags[tags.length - 1] = 3;
        assertHolds(beams[3], tags);
        // 576 copies were made; the family holds its live blocks (4 shared full + 4 partial) and a few free ones
        assertThat(beams[0].familyBlocks()).isLessThanOrEqualTo(4 + 4 + 4);
        for (KvCache c : beams) c.close();
    }
}
