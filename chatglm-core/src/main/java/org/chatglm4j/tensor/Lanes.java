package org.chatglm4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;

/**
 * The sum of a float vector's lanes in one fixed order, the same bits interpreted or compiled. {@code
 * reduceLanes(ADD)} leaves the order open, and HotSpot's C2 does use another order than the interpreter, so the
 * same kernel on the same input gave logits a few ulps apart before and after JIT compilation; rounded into int8
 * activations, or in a near-tie of greedy decoding, such differences grow. Here the upper half of the lanes is added
 * onto the lower half until one lane is left: for eight lanes {@code ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7))}.
 */
public final class Lanes {
    private static final VectorShuffle<Float> H4_2 = VectorShuffle.iota(FloatVector.SPECIES_128, 2, 1, true);
    private static final VectorShuffle<Float> H4_1 = VectorShuffle.iota(FloatVector.SPECIES_128, 1, 1, true);
    private static final VectorShuffle<Float> H8_4 = VectorShuffle.iota(FloatVector.SPECIES_256, 4, 1, true);
    private static final VectorShuffle<Float> H8_2 = VectorShuffle.iota(FloatVector.SPECIES_256, 2, 1, true);
    private static final VectorShuffle<Float> H8_1 = VectorShuffle.iota(FloatVector.SPECIES_256, 1, 1, true);
    private static final VectorShuffle<Float> H16_8 = VectorShuffle.iota(FloatVector.SPECIES_512, 8, 1, true);
    private static final VectorShuffle<Float> H16_4 = VectorShuffle.iota(FloatVector.SPECIES_512, 4, 1, true);
    private static final VectorShuffle<Float> H16_2 = VectorShuffle.iota(FloatVector.SPECIES_512, 2, 1, true);
    private static final VectorShuffle<Float> H16_1 = VectorShuffle.iota(FloatVector.SPECIES_512, 1, 1, true);

    private Lanes() {
    }

    /** {@code Σ v[i]} in the halving order above. */
    public static float sum(FloatVector v) {
        FloatVector s;
        switch (v.length()) {
            case 16 -> {
                s = v.add(v.rearrange(H16_8));
                s = s.add(s.rearrange(H16_4));
                s = s.add(s.rearrange(H16_2));
                s = s.add(s.rearrange(H16_1));
            }
            case 8 -> {
                s = v.add(v.rearrange(H8_4));
                s = s.add(s.rearrange(H8_2));
                s = s.add(s.rearrange(H8_1));
            }
            case 4 -> {
                s = v.add(v.rearrange(H4_2));
                s = s.add(s.rearrange(H4_1));
            }
            default -> {
                return sumScalar(v.toArray(), 0, v.length());
            }
        }
        return s.lane(0);
    }

    /** Scalar twin of {@link #sum}: lanes {@code a[off, off + n)}, n a power of two, in the same order. */
    public static float sumScalar(float[] a, int off, int n) {
        float[] s = java.util.Arrays.copyOfRange(a, off, off + n);
        for (int half = n / 2; half >= 1; half /= 2) {
            for (int i = 0; i < half; i++) s[i] = s[i] + s[i + half];
        }
        return s[0];
    }
}
