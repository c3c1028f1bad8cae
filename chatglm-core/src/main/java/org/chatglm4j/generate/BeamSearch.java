package org.chatglm4j.generate;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.model.Batch;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.KvCache;

import java.util.Arrays;
import java.util.List;

/**
 * Beam search of one prompt, as transformers 4.27.1's {@code beam_search()} with {@code BeamSearchScorer} runs it
 * for {@code num_beams > 1, do_sample=False}. Driven step by step like a {@link Sequence}: {@link #addTo} puts the
 * running beams in a {@link Batch} (one segment each), {@link #accept} takes their last-position logits in order,
 * and the step is decided when the last beam's row arrives.
 *
 * <p>One step, with K beams and V = vocabulary size: {@code log_softmax} of each beam's logits (float32), then the
 * logits processors on those log-probabilities (repetition penalty, then ChatGLM's invalid-score guard over all
 * rows at once), plus the beam's running score; the top 2K of the K·V candidates, best first; walking them, an
 * {@code <eop>} among the first K finishes its beam's sequence as a hypothesis ({@link BeamHypotheses}), any other
 * token continues a beam until K are running. The search ends when the hypotheses are done (4.27.1's heuristic, or
 * K of them with early stopping) or at the length limit; then the running beams are offered as hypotheses too,
 * and the best one is the output, with {@code <eop>} appended when it ended that way.
 *
 * <p>The reference starts from K copies of the prompt with scores {@code [0, -1e9, …]}; the copies are identical,
 * so the prompt runs once and the copies are aliases of it. Each beam has its own {@link KvCache}; reordering the
 * beams forks the caches ({@link KvCache#fork()}, copy-on-write blocks), so beams share their common past.
 * Not thread-safe; {@link #close()} frees the caches.
 */
public final class BeamSearch implements AutoCloseable {
    private final Sequence prompt;            // runs the prompt, knows the decode positions
    private final int k, vocab, promptLength, limit;
    /** The reference's eos_token_id list: any ends a hypothesis; finalize puts back the first. */
    private final int[] eos;
    private final RepetitionPenalty repetition;
    private final BeamHypotheses hypotheses;
    private final float[] scores;             // [k, vocab] processed log-probabilities of this step
    private final float[] topScore;           // [2k] best candidates, descending
    private final int[] topIndex;             // [2k] their flat index beam·vocab + token
    private final boolean[] taken;            // [k] whether a source beam's cache went to a new beam
    private KvCache[] caches, nextCaches;     // [k]
    private int[][] ids, nextIds;             // [k][capacity] prompt and generated ids of each running beam
    private final float[] beamScores, nextScores;
    private final int[] sources, tokens;      // [k] the last step's decisions, for inspection
    private int length;                       // of every running beam
    private int received, steps;
    private boolean first = true, done;
    private FinishReason finish;
    private int[] output;

    /**
     * A beam search over {@code promptIds} with {@code config}'s beams and limits, stepped by {@link #addTo}.
     *
     * @throws ChatGlmException for settings beam search cannot run (see {@link GenerationConfig#checkBeamSearch})
     */
    public BeamSearch(ChatGlmModel model, int[] promptIds, GenerationConfig config) {
        config.checkBeamSearch();
        if (!config.beamSearch()) {
            // transformers runs greedy_search for one beam; so does Generator (a one-beam search differs)
            throw new ChatGlmException("beam search needs num_beams >= 2; num_beams 1 is greedy decoding");
        }
        ChatGlmConfig cfg = model.config();
        this.k = config.numBeams();
        this.vocab = cfg.vocabSize();
        this.eos = config.eosTokenIds().isEmpty() ? new int[] {cfg.eosTokenId()}
                : config.eosTokenIds().stream().mapToInt(Integer::intValue).toArray();
        this.promptLength = promptIds.length;
        this.limit = config.limitFor(promptIds.length);
        this.repetition = config.sampling().repetitionPenalty() != 1.0
                ? new RepetitionPenalty(config.sampling().repetitionPenalty(), vocab) : null;
        this.hypotheses = new BeamHypotheses(k, config.lengthPenalty(), config.earlyStopping());
        this.scores = new float[k * vocab];
        this.topScore = new float[2 * k];
        this.topIndex = new int[2 * k];
        this.taken = new boolean[k];
        this.caches = new KvCache[k];
        this.nextCaches = new KvCache[k];
        int capacity = Math.max(promptIds.length + 16, Math.min(limit, promptIds.length + 512));
        this.ids = new int[k][];
        this.nextIds = new int[k][];
        for (int b = 0; b < k; b++) {
            ids[b] = Arrays.copyOf(promptIds, capacity);
            nextIds[b] = new int[capacity];
        }
        this.beamScores = new float[k];
        this.nextScores = new float[k];
        Arrays.fill(beamScores, 1, k, -1e9f);
        this.sources = new int[k];
        this.tokens = new int[k];
        this.length = promptIds.length;
        this.prompt = new Sequence(model, promptIds, GenerationConfig.greedy(Math.max(limit, 1)));
    }

    /** Adds this step's inputs: the prompt first (one segment), then the last token of each of the K beams. */
    public void addTo(Batch batch) {
        if (finish != null) throw new IllegalStateException("beam search is finished");
        if (first) {
            prompt.addTo(batch);
        } else {
            for (int b = 0; b < k; b++) prompt.addDecodeTo(batch, caches[b], ids[b][length - 1], length);
        }
        received = 0;
    }

    /** Segments {@link #addTo} adds: 1 for the prompt, then K. */
    public int segments() {
        return first ? 1 : k;
    }

    /**
     * Takes the logits of segment {@code segment} (of the ones {@link #addTo} added, in order); the step is decided
     * when the last one arrives.
     */
    public void accept(int segment, float[] logits, int offset) {
        if (segment != received) throw new IllegalStateException("beam rows must arrive in order");
        LogSoftmax.apply(logits, offset, vocab, scores, segment * vocab);
        if (repetition != null) repetition.apply(scores, segment * vocab, ids[segment], length);
        if (++received == segments()) step();
    }

    private void step() {
        int rows = segments();
        boolean invalid = false;   // the guard sees the whole [K, V] tensor: one bad row resets them all
        for (int r = 0; r < rows; r++) invalid |= InvalidScoreGuard.hasInvalid(scores, r * vocab, vocab);
        if (invalid) for (int r = 0; r < rows; r++) InvalidScoreGuard.reset(scores, r * vocab, vocab);
        selectTop();

        // walk the 2K candidates: <eop> in the first K finishes a hypothesis, other tokens continue K beams
        int next = 0;
        for (int rank = 0; rank < 2 * k && next < k; rank++) {
            int beam = topIndex[rank] / vocab, token = topIndex[rank] % vocab;
            if (isEos(token)) {
                if (rank < k) hypotheses.add(Arrays.copyOf(ids[beam], length), topScore[rank], true);
            } else {
                sources[next] = beam;
                tokens[next] = token;
                nextScores[next] = topScore[rank];
                next++;
            }
        }
        if (next < k) throw new IllegalStateException("beam search found " + next + " continuations for " + k + " beams");
        if (!done) done = hypotheses.isDone(topScore[0], length + 1);
        reorder();
        length++;
        steps++;
        first = false;
        if (done || length >= limit) finish(false);
    }

    /** The 2K largest of {@code scores[row(b)] + beamScores[b]} over beams b and tokens (ties: lower index first). */
    private void selectTop() {
        int n = 2 * k, filled = 0;
        float min = Float.NEGATIVE_INFINITY;
        for (int b = 0; b < k; b++) {
            int row = (first ? 0 : b) * vocab;   // before the first step every copy is the prompt
            float s = beamScores[b];
            for (int t = 0; t < vocab; t++) {
                float c = scores[row + t] + s;
                if (filled == n && !(c > min)) continue;
                int at = filled < n ? filled++ : n - 1;
                while (at > 0 && c > topScore[at - 1]) {
                    topScore[at] = topScore[at - 1];
                    topIndex[at] = topIndex[at - 1];
                    at--;
                }
                topScore[at] = c;
                topIndex[at] = b * vocab + t;
                if (filled == n) min = topScore[n - 1];
            }
        }
    }

    /** New beam i = source beam + token; caches follow their sources, forked when a source continues twice. */
    private void reorder() {
        Arrays.fill(taken, false);
        for (int i = 0; i < k; i++) {
            int src = sources[i];
            KvCache cache = first ? prompt.cache() : caches[src];
            int owner = first ? 0 : src;
            if (!taken[owner]) {
                taken[owner] = true;
                nextCaches[i] = cache;
            } else {
                nextCaches[i] = cache.fork();
            }
            if (nextIds[i].length <= length) nextIds[i] = new int[Math.max(2 * length, length + 16)];
            System.arraycopy(ids[src], 0, nextIds[i], 0, length);
            nextIds[i][length] = tokens[i];
        }
        if (!first) for (int b = 0; b < k; b++) if (!taken[b]) caches[b].close();
        KvCache[] c = caches;
        caches = nextCaches;
        nextCaches = c;
        Arrays.fill(nextCaches, null);
        int[][] t = ids;
        ids = nextIds;
        nextIds = t;
        System.arraycopy(nextScores, 0, beamScores, 0, k);
    }

    /** Bytes held by the beams' caches (blocks shared by beams count once per beam: an upper bound). */
    public long cacheBytes() {
        long n = 0;
        for (KvCache c : caches) if (c != null) n += c.bytes();
        return n;
    }

    /** Ends the search (the caller cancelled): the best hypothesis so far is the output. */
    public void cancel() {
        if (finish == null) finish(true);
    }

    private void finish(boolean cancelled) {
        if (!done && !(first && cancelled)) {
            for (int b = 0; b < k; b++) hypotheses.add(Arrays.copyOf(ids[b], length), beamScores[b], false);
        }
        BeamHypotheses.Hypothesis best = hypotheses.best();
        if (best == null) {
            output = new int[0];
        } else {
            output = Arrays.copyOfRange(best.ids(), promptLength, best.ids().length + (best.eos() ? 1 : 0));
            if (best.eos()) output[output.length - 1] = eos[0];
        }
        finish = cancelled || best == null ? FinishReason.CANCELLED : best.eos() ? FinishReason.EOS : FinishReason.LENGTH;
        closeCaches();
    }

    /** Whether the search is over (its output is then available). */
    public boolean finished() {
        return finish != null;
    }

    /** Why the search ended, null while it runs. */
    public FinishReason finishReason() {
        return finish;
    }

    /** The new ids of the best hypothesis, with its final {@code <eop>} when it ended there (after the search). */
    public int[] generatedIds() {
        if (output == null) throw new IllegalStateException("beam search is not finished");
        return output.clone();
    }

    /** A copy of the prompt's ids. */
    public int[] promptIds() {
        return Arrays.copyOf(prompt.promptIds(), promptLength);
    }

    /** Forward passes made (the prompt's included). */
    public int steps() {
        return steps;
    }

    /** The finished hypotheses, best first (after the search: the output is the first). */
    public List<BeamHypotheses.Hypothesis> hypotheses() {
        return hypotheses.ranked();
    }

    /** Running beam {@code i} after the last step: which beam it continued. */
    public int source(int i) {
        return sources[i];
    }

    /** Running beam {@code i} after the last step: the token it added. */
    public int token(int i) {
        return tokens[i];
    }

    /** Running beam {@code i} after the last step: its summed log-probabilities. */
    public float score(int i) {
        return beamScores[i];
    }

    private void closeCaches() {
        prompt.cache().close();
        for (int b = 0; b < k; b++) {
            if (caches[b] != null) caches[b].close();
            caches[b] = null;
        }
    }

    @Override
    public void close() {
        closeCaches();
    }

    private boolean isEos(int token) {
        for (int e : eos) if (token == e) return true;
        return false;
    }
}
