package org.chatglm4j.generate;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SamplerTest {
    private static final int V = 12;

    /** A distribution from the pipeline: logits 0..V-1 scaled, no filtering unless the settings say so. */
    private static TokenDistribution distribution(ScorePipeline pipeline, float[] logits) {
        float[] row = logits.clone();
        pipeline.process(row, 0, new int[0], 0);
        return pipeline.warp(row, 0);
    }

    private static float[] logits() {
        float[] row = new float[V];
        for (int i = 0; i < V; i++) row[i] = (float) Math.sin(i * 1.7) * 2f;
        return row;
    }

    @Test
    void aSeedGivesTheSameSequence() {
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(true, 1.0, 0, 1.0, 1.0), V);
        TokenDistribution d = distribution(pipeline, logits());
        Sampler a = Sampler.seeded(42);
        Sampler b = Sampler.seeded(42);
        Sampler c = Sampler.seeded(43);
        int[] first = new int[500];
        int differences = 0;
        for (int i = 0; i < first.length; i++) {
            first[i] = a.sample(d);
            assertThat(b.sample(d)).isEqualTo(first[i]);
            if (c.sample(d) != first[i]) differences++;
        }
        assertThat(differences).as("another seed gives another sequence").isGreaterThan(100);
    }

    @Test
    void frequenciesMatchTheProbabilities() {
        for (SamplingSettings settings : new SamplingSettings[]{
                new SamplingSettings(true, 1.0, 0, 1.0, 1.0),
                new SamplingSettings(true, 0.7, 6, 0.9, 1.0)}) {
            ScorePipeline pipeline = new ScorePipeline(settings, V);
            TokenDistribution d = distribution(pipeline, logits());
            float[] p = SamplingGoldenTest.probabilitiesById(d, V);
            Sampler sampler = Sampler.seeded(7);
            int draws = 200_000;
            int[] counts = new int[V];
            for (int i = 0; i < draws; i++) counts[sampler.sample(d)]++;
            double chiSquare = 0;
            int bins = 0;
            for (int id = 0; id < V; id++) {
                if (p[id] == 0) {
                    assertThat(counts[id]).as("%s: id %d has probability 0", settings, id).isZero();
                    continue;
                }
                double expected = draws * (double) p[id];
                chiSquare += (counts[id] - expected) * (counts[id] - expected) / expected;
                bins++;
            }
            assertThat(bins).isGreaterThan(2);
            // bins - 1 degrees of freedom: mean bins - 1, sd sqrt(2 (bins - 1)); allow six sd
            int dof = bins - 1;
            assertThat(chiSquare).as("%s: chi-square with %d dof", settings, dof)
                    .isLessThan(dof + 6 * Math.sqrt(2.0 * dof));
        }
    }

    @Test
    void greedyIgnoresTheSamplerAndItsSeed() {
        ScorePipeline greedy = new ScorePipeline(new SamplingSettings(false, 0.5, 3, 0.5, 1.0), V);
        Sampler a = Sampler.seeded(1);
        int expected = Sampler.argmax(logits(), 0, V);
        for (long seed = 0; seed < 20; seed++) {
            assertThat(greedy.nextToken(logits(), 0, new int[0], 0, Sampler.seeded(seed))).isEqualTo(expected);
            assertThat(greedy.nextToken(logits(), 0, new int[0], 0, a)).isEqualTo(expected);
        }
        assertThat(greedy.nextToken(logits(), 0, new int[0], 0, null)).isEqualTo(expected);
        // the sampler's generator was not advanced by the greedy steps
        ScorePipeline sampling = new ScorePipeline(new SamplingSettings(true, 1.0, 0, 1.0, 1.0), V);
        Sampler fresh = Sampler.seeded(1);
        for (int i = 0; i < 50; i++) {
            assertThat(sampling.nextToken(logits(), 0, new int[0], 0, a))
                    .isEqualTo(sampling.nextToken(logits(), 0, new int[0], 0, fresh));
        }
    }

    @Test
    void aSingleKeptIdIsAlwaysReturned() {
        ScorePipeline topOne = new ScorePipeline(new SamplingSettings(true, 0.95, 1, 0.7, 1.0), V);
        int best = Sampler.argmax(logits(), 0, V);
        TokenDistribution d = distribution(topOne, logits());
        assertThat(d.size()).isEqualTo(1);
        assertThat(d.id(0)).isEqualTo(best);
        assertThat(d.probability(0)).isEqualTo(1f);
        Sampler sampler = Sampler.seeded(3);
        for (int i = 0; i < 2000; i++) assertThat(sampler.sample(d)).isEqualTo(best);
    }

    @Test
    void keptIdsWithProbabilityZeroAreNeverDrawn() {
        // the guard leaves 0 everywhere and 5e4 at id 5: without warpers every id is kept, only id 5 has mass
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(true, 1.0, 0, 1.0, 1.0), V);
        float[] row = logits();
        row[2] = Float.NaN;
        TokenDistribution d = distribution(pipeline, row);
        assertThat(d.size()).isEqualTo(V);
        Sampler sampler = Sampler.seeded(11);
        for (int i = 0; i < 2000; i++) assertThat(sampler.sample(d)).isEqualTo(5);
    }

    @Test
    void drawsAtTheEdgesOfTheUnitInterval() {
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(true, 1.0, 3, 1.0, 1.0), V);
        TokenDistribution d = distribution(pipeline, logits());
        // a generator pinned at 0 picks the first entry with mass; one just below 1 picks the last
        Sampler low = new Sampler(new FixedGenerator(0.0));
        Sampler high = new Sampler(new FixedGenerator(Math.nextDown(1.0)));
        assertThat(low.sample(d)).isEqualTo(d.id(0));
        assertThat(high.sample(d)).isEqualTo(d.id(d.size() - 1));
    }

    @Test
    void argmaxTakesTheFirstMaximalIndex() {
        assertThat(Sampler.argmax(new float[]{1f, 3f, 3f, 2f}, 0, 4)).isEqualTo(1);
        assertThat(Sampler.argmax(new float[]{9f, 1f, 3f, 3f}, 1, 3)).isEqualTo(1);
        assertThat(Sampler.argmax(new float[]{Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}, 0, 2)).isZero();
        assertThat(Sampler.argmax(new float[]{-5f, -1f, -1f}, 0, 3)).isEqualTo(1);
        assertThatThrownBy(() -> Sampler.argmax(new float[3], 1, 3)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Sampler.argmax(new float[3], 0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void seededUsesTheNamedAlgorithm() {
        var expected = java.util.random.RandomGeneratorFactory.of(Sampler.ALGORITHM).create(5L);
        ScorePipeline pipeline = new ScorePipeline(new SamplingSettings(true, 1.0, 0, 1.0, 1.0), V);
        TokenDistribution d = distribution(pipeline, logits());
        Sampler sampler = Sampler.seeded(5L);
        Sampler replay = new Sampler(expected);
        SplittableRandom unrelated = new SplittableRandom(5L);
        int same = 0;
        for (int i = 0; i < 200; i++) {
            int x = sampler.sample(d);
            assertThat(replay.sample(d)).isEqualTo(x);
            if (new Sampler(unrelated).sample(d) == x) same++;
        }
        assertThat(same).isLessThan(200);
    }

    /** A generator whose nextDouble() is fixed, to hit the ends of the inverse CDF. */
    private record FixedGenerator(double value) implements java.util.random.RandomGenerator {
        @Override
        public long nextLong() {
            throw new UnsupportedOperationException();
        }

        @Override
        public double nextDouble() {
            return value;
        }
    }
}
