package org.chatglm4j.generate;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

/**
 * Test oracle: the score pipeline written as plainly as possible after the fixtures README §4.4, whole-vocabulary
 * sorts, fresh arrays everywhere. {@link ScorePipeline} must agree with it exactly on the warped rows and kept ids,
 * and closely on the probabilities.
 */
final class SimpleScorePipeline {
    private SimpleScorePipeline() {
    }

    /** Probabilities of every id ({@code 0} where removed) and whether the guard fired. */
    record Result(boolean guardFired, float[] probabilities, boolean[] kept) {
    }

    static Result run(SamplingSettings s, float[] row, int[] tokens) {
        int v = row.length;
        if (s.repetitionPenalty() != 1.0) {
            float p = (float) s.repetitionPenalty();
            Set<Integer> distinct = new HashSet<>();
            for (int t : tokens) distinct.add(t);
            for (int id : distinct) row[id] = row[id] < 0 ? row[id] * p : row[id] / p;
        }
        boolean fired = false;
        for (float x : row) fired |= Float.isNaN(x) || Float.isInfinite(x);
        if (fired) {
            Arrays.fill(row, 0f);
            row[5] = 5e4f;
        }
        if (!s.doSample()) return new Result(fired, null, null);

        if (s.temperature() != 1.0) {
            float t = (float) s.temperature();
            for (int i = 0; i < v; i++) row[i] = Math.max(-Float.MAX_VALUE, Math.min(Float.MAX_VALUE, row[i] / t));
        }
        if (s.topK() != 0) {
            int k = Math.min(Math.max(s.topK(), 1), v);
            float[] sorted = row.clone();
            Arrays.sort(sorted);
            float kth = sorted[v - k];
            for (int i = 0; i < v; i++) if (row[i] < kth) row[i] = Float.NEGATIVE_INFINITY;
        }
        if (s.topP() < 1.0) {
            float removeAtOrBelow = (float) (1.0 - s.topP());
            Integer[] ascending = new Integer[v];
            for (int i = 0; i < v; i++) ascending[i] = i;
            // ascending score; equal scores: larger id first (so the smaller id counts as the larger score)
            Arrays.sort(ascending, (a, b) -> {
                int c = Float.compare(row[a] + 0f, row[b] + 0f);
                return c != 0 ? c : Integer.compare(b, a);
            });
            float max = row[ascending[v - 1]];
            double[] e = new double[v];
            double total = 0;
            for (int i = 0; i < v; i++) {
                e[i] = Math.exp(row[i] - max);
                total += e[i];
            }
            double cumulative = 0;
            boolean[] remove = new boolean[v];
            int removed = 0;
            for (int r = 0; r < v; r++) {
                int id = ascending[r];
                cumulative += (float) (e[id] / total);
                remove[id] = (float) cumulative <= removeAtOrBelow;
                if (remove[id]) removed++;
            }
            if (removed == v) remove[ascending[v - 1]] = false;
            for (int i = 0; i < v; i++) if (remove[i]) row[i] = Float.NEGATIVE_INFINITY;
        }
        float max = Float.NEGATIVE_INFINITY;
        for (float x : row) max = Math.max(max, x);
        double[] e = new double[v];
        double total = 0;
        for (int i = 0; i < v; i++) {
            e[i] = Math.exp(row[i] - max);
            total += e[i];
        }
        float[] probabilities = new float[v];
        boolean[] kept = new boolean[v];
        for (int i = 0; i < v; i++) {
            probabilities[i] = (float) (e[i] / total);
            kept[i] = row[i] != Float.NEGATIVE_INFINITY;
        }
        return new Result(fired, probabilities, kept);
    }
}
