package org.chatglm4j.eval;

import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.generate.SamplingSettings;
import org.chatglm4j.generate.TokenListener;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code trainer.predict(...)} of {@code ptuning/main.py --do_predict} followed by its {@code compute_metrics}:
 * one generation per example (by default {@code do_sample=True, top_p=0.7, temperature=0.95}, top-k 50, as main.py
 * calls it), decoded with {@code skip_special_tokens=True}. The metrics are computed on the decoded texts as they
 * are, the file gets them stripped ({@code generated_predictions.txt} is written from stripped texts), both as in
 * main.py.
 */
public final class Predictor {
    /** Progress after each example. */
    public interface Listener {
        void onExample(int done, int total, int generatedTokens, long elapsedNanos);
    }

    /**
     * @param predictions what generated_predictions.txt holds (stripped)
     * @param metrics     compute_metrics of the unstripped texts
     * @param tokens      new tokens generated in all
     * @param nanos       time spent generating
     */
    public record Result(List<Prediction> predictions, Metrics.Scores metrics, long tokens, long nanos) {
    }

    private Predictor() {
    }

    /** main.py's sampling for predict: do_sample=True, top_p=0.7, temperature=0.95 (top-k 50 from the defaults). */
    public static SamplingSettings referenceSampling() {
        return new SamplingSettings(true, 0.95, 50, 0.7, 1.0);
    }

    /**
     * @param seed seed of the sampler for the first example (the i-th uses seed + i); null draws fresh ones
     */
    public static Result run(ChatGLM glm, PredictDataset data, SamplingSettings sampling, Long seed, Metrics metrics,
                             Listener listener, Cancellation cancellation) {
        ChatGlmTokenizer tok = glm.tokenizer();
        List<Prediction> stripped = new ArrayList<>();
        List<Metrics.Scores> scores = new ArrayList<>();
        List<PredictDataset.Example> examples = data.examples();
        long tokens = 0;
        long start = System.nanoTime();
        for (int i = 0; i < examples.size(); i++) {
            PredictDataset.Example ex = examples.get(i);
            GenerationConfig config = new GenerationConfig(ex.inputIds().length + ex.maxNewTokens(), ex.maxNewTokens(),
                    sampling, seed == null ? null : seed + i, List.of());
            GenerationResult r = glm.generate(ex.inputIds(), config, TokenListener.NONE, cancellation);
            tokens += r.generatedIds().length;
            String predict = decodeSkippingSpecials(tok, r.generatedIds());
            String label = decodeSkippingSpecials(tok, ex.labelIds());
            try {
                scores.add(metrics.pair(predict, label));
            } catch (EvalException e) {
                throw new EvalException("line " + ex.line() + " of the validation file: "
                        + PredictionsFile.emptyPairMessage(e));
            }
            stripped.add(new Prediction(PythonStr.strip(label), PythonStr.strip(predict)));
            if (listener != null) listener.onExample(i + 1, examples.size(), r.generatedIds().length, System.nanoTime() - start);
        }
        return new Result(List.copyOf(stripped), Metrics.mean(scores), tokens, System.nanoTime() - start);
    }

    /**
     * {@code tokenizer.decode(ids, skip_special_tokens=True)}: the ids of the special-token attributes
     * ({@code <sop> <eop> <unk> <pad> [MASK]}) are dropped, the rest decoded as {@code decode} does. {@code [gMASK]}
     * is no such attribute; it is a control piece and decodes to nothing anyway.
     */
    public static String decodeSkippingSpecials(ChatGlmTokenizer tok, int[] ids) {
        int[] kept = new int[ids.length];
        int n = 0;
        for (int id : ids) {
            if (id != tok.bosId() && id != tok.eosId() && id != tok.unkId() && id != tok.padId() && id != tok.maskId()) {
                kept[n++] = id;
            }
        }
        return tok.decodeForChat(java.util.Arrays.copyOf(kept, n));
    }
}
