package org.chatglm4j.generate;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.chatglm4j.tensor.Lanes;

/**
 * float32 {@code log_softmax} of one row, in torch's order of operations: {@code x - max - log(Σ exp(x - max))}
 * (subtracting the max first keeps large logits exact). The vector kernel and its scalar twin differ only in how
 * the sum is accumulated (a few ulps).
 */
final class LogSoftmax {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private LogSoftmax() {
    }

    /** {@code out[outOff + i] = log_softmax(in[inOff, inOff + n))[i]}. */
    static void apply(float[] in, int inOff, int n, float[] out, int outOff) {
        int i = 0, bound = F.loopBound(n);
        FloatVector vmax = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (; i < bound; i += F.length()) vmax = vmax.max(FloatVector.fromArray(F, in, inOff + i));
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) max = Math.max(max, in[inOff + i]);
        FloatVector vsum = FloatVector.zero(F);
        FloatVector vm = FloatVector.broadcast(F, max);
        for (i = 0; i < bound; i += F.length()) {
            vsum = vsum.add(FloatVector.fromArray(F, in, inOff + i).sub(vm).lanewise(VectorOperators.EXP));
        }
        float sum = Lanes.sum(vsum);
        for (; i < n; i++) sum += (float) Math.exp(in[inOff + i] - max);
        float logSum = (float) Math.log(sum);
        FloatVector vl = FloatVector.broadcast(F, logSum);
        for (i = 0; i < bound; i += F.length()) {
            FloatVector.fromArray(F, in, inOff + i).sub(vm).sub(vl).intoArray(out, outOff + i);
        }
        for (; i < n; i++) out[outOff + i] = in[inOff + i] - max - logSum;
    }

    /** The scalar twin of {@link #apply}. */
    static void applyScalar(float[] in, int inOff, int n, float[] out, int outOff) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, in[inOff + i]);
        float sum = 0;
        for (int i = 0; i < n; i++) sum += (float) Math.exp(in[inOff + i] - max);
        float logSum = (float) Math.log(sum);
        for (int i = 0; i < n; i++) out[outOff + i] = in[inOff + i] - max - logSum;
    }
}
