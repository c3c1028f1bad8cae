package org.chatglm4j.generate;

import java.util.ArrayList;
import java.util.List;

/**
 * The finished hypotheses of one beam search, as transformers 4.27.1's {@code BeamHypotheses}: at most
 * {@code numBeams}, each scored {@code sum_logprobs / length^length_penalty} in double, the length counting the
 * prompt and not the final {@code <eop>}. Not thread-safe.
 */
public final class BeamHypotheses {

    /**
     * One finished hypothesis.
     *
     * @param ids         prompt and generated ids, without the {@code <eop>} that finished it
     * @param sumLogprobs the summed log-probabilities (the {@code <eop>}'s included when it ended with one)
     * @param score       {@code sumLogprobs / ids.length^length_penalty}
     * @param eos         ended by {@code <eop>}; false: a running beam added when the search stopped
     */
    public record Hypothesis(int[] ids, float sumLogprobs, double score, boolean eos) {
    }

    private final int capacity;
    private final double lengthPenalty;
    private final boolean earlyStopping;
    private final List<Hypothesis> beams = new ArrayList<>();   // in the order they were stored
    private double worst = 1e9;

    /**
     * An empty list keeping at most {@code numBeams} hypotheses, scored with {@code lengthPenalty}; {@code
     * earlyStopping} as transformers' {@code early_stopping} (stop once full).
     */
    public BeamHypotheses(int numBeams, double lengthPenalty, boolean earlyStopping) {
        this.capacity = numBeams;
        this.lengthPenalty = lengthPenalty;
        this.earlyStopping = earlyStopping;
    }

    /** Hypotheses stored so far (at most {@code numBeams}). */
    public int size() {
        return beams.size();
    }

    /**
     * Offers a hypothesis: stored when fewer than {@code numBeams} are, or when it scores strictly above the worst
     * (which is then dropped; among equal scores the one stored first goes).
     */
    public void add(int[] ids, float sumLogprobs, boolean eos) {
        double score = sumLogprobs / Math.pow(ids.length, lengthPenalty);
        if (beams.size() >= capacity && !(score > worst)) return;
        beams.add(new Hypothesis(ids, sumLogprobs, score, eos));
        if (beams.size() > capacity) {
            int lowest = 0;
            for (int i = 1; i < beams.size(); i++) if (beams.get(i).score() < beams.get(lowest).score()) lowest = i;
            beams.remove(lowest);
            worst = Double.POSITIVE_INFINITY;
            for (Hypothesis h : beams) worst = Math.min(worst, h.score());
        } else {
            worst = Math.min(score, worst);
        }
    }

    /**
     * Whether no running beam can do better, 4.27.1's test: never before {@code numBeams} are finished; then at
     * once with early stopping, else when {@code worst >= bestSumLogprobs / curLen^length_penalty} (a tie is done).
     *
     * @param bestSumLogprobs the best candidate of the step (eos or not)
     * @param curLen          the length including that step's token (4.27.1 passes the length + 1)
     */
    public boolean isDone(double bestSumLogprobs, int curLen) {
        if (beams.size() < capacity) return false;
        if (earlyStopping) return true;
        return worst >= bestSumLogprobs / Math.pow(curLen, lengthPenalty);
    }

    /** The highest score; among equal ones the one stored last (Python's stable sort, then pop()). */
    public Hypothesis best() {
        Hypothesis best = null;
        for (Hypothesis h : beams) if (best == null || h.score() >= best.score()) best = h;
        return best;
    }

    /** Every stored hypothesis, best first (a copy). */
    public List<Hypothesis> ranked() {
        List<Hypothesis> out = new ArrayList<>(beams);
        java.util.Collections.reverse(out);   // so that the stable sort keeps the one stored last first among ties
        out.sort((x, y) -> Double.compare(y.score(), x.score()));
        return out;
    }
}
