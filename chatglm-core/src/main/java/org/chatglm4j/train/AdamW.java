package org.chatglm4j.train;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code transformers.optimization.AdamW} as the Trainer of transformers 4.27 uses it ({@code optim="adamw_hf"}),
 * not torch's: {@code m = β₁·m + (1−β₁)·g}, {@code v = β₂·v + (1−β₂)·g²}, {@code step = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)}
 * (bias corrections in double), {@code p −= step·m/(√v + ε)}; then, with a weight decay, {@code p −= lr·wd·p}.
 */
public final class AdamW {
    /** Python floats: each factor is rounded to float32 only where torch applies it to a float32 tensor. */
    public static final double BETA1 = 0.9, BETA2 = 0.999, EPS = 1e-8;
    private static final float B1 = (float) BETA1, B2 = (float) BETA2, ONE_MINUS_B1 = (float) (1 - BETA1),
            ONE_MINUS_B2 = (float) (1 - BETA2), E = (float) EPS;

    private final List<float[]> m = new ArrayList<>(), v = new ArrayList<>();
    private final double weightDecay;
    private int step;

    /**
     * Zeroed moments shaped like {@code params} (which are only measured, not kept), and a weight decay (0 for none,
     * as P-Tuning uses). Not thread-safe.
     */
    public AdamW(List<float[]> params, double weightDecay) {
        for (float[] p : params) {
            m.add(new float[p.length]);
            v.add(new float[p.length]);
        }
        this.weightDecay = weightDecay;
    }

    /** Updates taken so far: the {@code t} of the bias corrections. */
    public int step() {
        return step;
    }

    /** The first moments {@code m}, one array per parameter tensor: the live state, not a copy (for saving). */
    public List<float[]> firstMoments() {
        return m;
    }

    /** The second moments {@code v}, one array per parameter tensor: the live state, not a copy (for saving). */
    public List<float[]> secondMoments() {
        return v;
    }

    /** Restores a saved state (moments copied in, step count). */
    public void restore(List<float[]> first, List<float[]> second, int steps) {
        for (int i = 0; i < m.size(); i++) {
            System.arraycopy(first.get(i), 0, m.get(i), 0, m.get(i).length);
            System.arraycopy(second.get(i), 0, v.get(i), 0, v.get(i).length);
        }
        this.step = steps;
    }

    /**
     * One step at learning rate {@code lr}: updates {@code params} in place from {@code grads} (read only), both in
     * the order given to the constructor.
     */
    public void update(List<float[]> params, List<float[]> grads, double lr) {
        step++;
        double bc1 = 1 - Math.pow(BETA1, step), bc2 = 1 - Math.pow(BETA2, step);
        float stepSize = (float) (lr * Math.sqrt(bc2) / bc1);
        for (int k = 0; k < params.size(); k++) {
            float[] p = params.get(k), g = grads.get(k), mk = m.get(k), vk = v.get(k);
            for (int i = 0; i < p.length; i++) {
                mk[i] = mk[i] * B1 + g[i] * ONE_MINUS_B1;
                vk[i] = vk[i] * B2 + ONE_MINUS_B2 * g[i] * g[i];
                float denom = (float) Math.sqrt(vk[i]) + E;
                p[i] -= stepSize * (mk[i] / denom);
                if (weightDecay > 0) p[i] -= (float) (lr * weightDecay) * p[i];
            }
        }
    }
}
