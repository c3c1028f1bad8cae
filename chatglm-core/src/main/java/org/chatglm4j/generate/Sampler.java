package org.chatglm4j.generate;

import java.util.Objects;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Picks the next token: {@link #argmax} for greedy decoding, {@link #sample} (inverse CDF over the kept ids) for
 * sampling. A sampler created from a seed gives the same sequence of draws for the same distributions, within
 * chatglm4j; it does not reproduce torch.multinomial's draws (nor can the fixtures check them). One sampler per
 * sequence; not thread-safe.
 */
public final class Sampler {
    /** The generator behind {@link #seeded}: fixed by name, so a seed means the same draws on every JDK. */
    public static final String ALGORITHM = "L64X128MixRandom";

    private final RandomGenerator random;

    /** A sampler drawing from {@code random}. */
    public Sampler(RandomGenerator random) {
        this.random = Objects.requireNonNull(random, "random");
    }

    /** A sampler whose draws are determined by {@code seed}. */
    public static Sampler seeded(long seed) {
        return new Sampler(RandomGeneratorFactory.of(ALGORITHM).create(seed));
    }

    /** Draws one id of {@code distribution} with its probability (ids with probability 0 are never drawn). */
    public int sample(TokenDistribution distribution) {
        int n = distribution.size();
        double total = 0;
        for (int i = 0; i < n; i++) total += distribution.probability(i);
        // float32 probabilities need not sum to exactly 1: draw within their actual total
        double u = random.nextDouble() * total;
        double cumulative = 0;
        int last = -1;
        for (int i = 0; i < n; i++) {
            float p = distribution.probability(i);
            if (p <= 0) continue;
            cumulative += p;
            last = i;
            if (u < cumulative) return distribution.id(i);
        }
        if (last < 0) throw new IllegalStateException("distribution of " + n + " ids has no positive probability");
        return distribution.id(last); // u rounded up to the total
    }

    /** The first index of the largest score in {@code row[offset, offset + length)}, relative to {@code offset}. */
    public static int argmax(float[] row, int offset, int length) {
        if (length <= 0 || offset < 0 || offset > row.length - length) {
            throw new IllegalArgumentException("score row [" + offset + ", " + offset + " + " + length
                    + ") is empty or does not fit an array of " + row.length);
        }
        int best = 0;
        float bestScore = row[offset];
        for (int i = 1; i < length; i++) {
            float s = row[offset + i];
            if (s > bestScore) {
                bestScore = s;
                best = i;
            }
        }
        return best;
    }
}
