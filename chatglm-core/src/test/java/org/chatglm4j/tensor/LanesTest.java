package org.chatglm4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Lane sums: bit-identical to the scalar twin for every species, before and after the JIT compiles them. */
class LanesTest {

    @Test
    void sumIsTheScalarTwinsBitsInterpretedAndCompiled() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[] a = new float[4096];
        // magnitudes over eight decades: any change of order shows in the low bits
        for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(8)));
        for (VectorSpecies<Float> sp : java.util.List.of(FloatVector.SPECIES_128, FloatVector.SPECIES_256,
                FloatVector.SPECIES_512, FloatVector.SPECIES_PREFERRED)) {
            int n = sp.length(), mismatches = 0;
            for (int round = 0; round < 200; round++) {   // enough calls for C2 to compile sum()
                for (int o = 0; o + n <= a.length; o += n) {
                    if (Float.floatToRawIntBits(Lanes.sum(FloatVector.fromArray(sp, a, o)))
                            != Float.floatToRawIntBits(Lanes.sumScalar(a, o, n))) mismatches++;
                }
            }
            assertThat(mismatches).as("%d lanes", n).isZero();
        }
    }
}
