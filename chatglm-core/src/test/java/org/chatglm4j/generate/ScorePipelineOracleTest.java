package org.chatglm4j.generate;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ScorePipeline} (partial selection, survivor-only sorts, reused buffers) against the plain
 * {@link SimpleScorePipeline} on random rows of awkward sizes, with ties, -0.0, non-finite values, huge values and
 * repeated tokens. Warped rows and kept ids must be identical; probabilities may differ by the order of a double sum.
 */
class ScorePipelineOracleTest {
    private static final int[] SIZES = {6, 7, 31, 64, 65, 257, 1000, 4099, 20011};
    private static final double[] TEMPERATURES = {1.0, 0.95, 0.3, 2.5, 1e-37};
    private static final int[] TOP_KS = {0, 1, 2, 5, 50, 300};
    private static final double[] TOP_PS = {1.0, 0.99, 0.9, 0.7, 0.3, 0.02, 1e-9};
    private static final double[] PENALTIES = {1.0, 1.3, 0.6};

    /** What a row is filled with. */
    enum Shape { NORMAL, WIDE, TIES, FEW_LEVELS, FLAT, PEAKED, NON_FINITE, HUGE }

    static Stream<Arguments> rows() {
        List<Arguments> out = new ArrayList<>();
        long seed = 1;
        for (int size : SIZES) {
            for (Shape shape : Shape.values()) out.add(Arguments.of(size, shape, seed++));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "V={0} {1}")
    @MethodSource("rows")
    void matchesTheSimpleImplementation(int size, Shape shape, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] logits = row(size, shape, random);
        int[] tokens = tokens(size, random);
        // every combination on small rows, a random part of them on the big ones (the oracle sorts boxed ids)
        double share = size > 10000 ? 0.05 : size > 2000 ? 0.15 : 1.0;
        int checked = 0;
        for (double t : TEMPERATURES) {
            for (int k : TOP_KS) {
                for (double p : TOP_PS) {
                    if (random.nextDouble() >= share) continue;
                    double penalty = PENALTIES[random.nextInt(PENALTIES.length)];
                    // mostly a tiny first top-p selection, so that the growing path runs on small rows too
                    int firstSelection = random.nextInt(4) == 0 ? ScorePipeline.TOP_P_FIRST_SELECTION : 1 + random.nextInt(8);
                    compare(new SamplingSettings(true, t, k, p, penalty), logits, tokens, firstSelection);
                    checked++;
                }
            }
        }
        assertThat(checked).isGreaterThanOrEqualTo(4);
    }

    private static void compare(SamplingSettings settings, float[] logits, int[] tokens, int firstSelection) {
        String what = settings + " first selection " + firstSelection;
        float[] expectedRow = logits.clone();
        SimpleScorePipeline.Result expected = SimpleScorePipeline.run(settings, expectedRow, tokens);

        // the row sits inside a bigger array to check that offsets are honoured
        int offset = 3;
        float[] buffer = new float[logits.length + 7];
        buffer[0] = buffer[1] = buffer[2] = Float.NaN;
        System.arraycopy(logits, 0, buffer, offset, logits.length);
        ScorePipeline pipeline = new ScorePipeline(settings, logits.length, firstSelection);
        assertThat(pipeline.process(buffer, offset, tokens, tokens.length)).as(what).isEqualTo(expected.guardFired());
        TokenDistribution d = pipeline.warp(buffer, offset);

        for (int i = 0; i < logits.length; i++) {
            if (Float.floatToRawIntBits(buffer[offset + i]) != Float.floatToRawIntBits(expectedRow[i])) {
                throw new AssertionError(what + ": warped score " + i + " is " + buffer[offset + i]
                        + ", expected " + expectedRow[i]);
            }
        }
        assertThat(Float.isNaN(buffer[0]) && Float.isNaN(buffer[2]) && buffer[offset + logits.length] == 0f)
                .as("outside the row").isTrue();
        boolean[] kept = new boolean[logits.length];
        float[] probabilities = new float[logits.length];
        for (int i = 0; i < d.size(); i++) {
            assertThat(kept[d.id(i)]).as(what + ": id listed twice").isFalse();
            kept[d.id(i)] = true;
            probabilities[d.id(i)] = d.probability(i);
        }
        assertThat(kept).as(what).containsExactly(expected.kept());
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            float e = expected.probabilities()[i];
            if (Math.abs(probabilities[i] - e) > 2e-7 + 1e-6 * e) {
                throw new AssertionError(what + ": probability of " + i + " is " + probabilities[i] + ", expected " + e);
            }
            sum += probabilities[i];
        }
        assertThat(sum).as(what).isBetween(1 - 1e-4, 1 + 1e-4);
    }

    static float[] row(int size, Shape shape, SplittableRandom random) {
        float[] row = new float[size];
        for (int i = 0; i < size; i++) {
            row[i] = switch (shape) {
                case NORMAL -> (float) (random.nextGaussian() * 3.5);
                case WIDE -> (float) (random.nextGaussian() * 40);
                case TIES -> Math.round(random.nextGaussian() * 4) / 2f;
                case FEW_LEVELS -> random.nextInt(3) - 1f;
                case FLAT -> (float) (random.nextGaussian() * 0.01);
                case PEAKED -> i == size / 3 ? 30f : (float) random.nextGaussian();
                case NON_FINITE -> (float) random.nextGaussian();
                case HUGE -> (float) (random.nextGaussian() * 1e37);
            };
        }
        switch (shape) {
            case TIES, FEW_LEVELS -> {
                for (int i = 0; i < size; i += 5) row[i] = -0.0f; // -0.0 ties with 0.0
            }
            case NON_FINITE -> {
                float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
                row[random.nextInt(size)] = bad[random.nextInt(bad.length)];
            }
            default -> {
            }
        }
        return row;
    }

    /** A sequence with repeated ids, including 0 and the last id. */
    static int[] tokens(int size, SplittableRandom random) {
        int[] tokens = new int[2 + random.nextInt(12)];
        for (int i = 0; i < tokens.length; i++) tokens[i] = random.nextInt(size);
        tokens[0] = 0;
        tokens[1] = size - 1;
        if (tokens.length > 3) tokens[3] = tokens[2];
        return tokens;
    }
}
