package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.util.List;

/**
 * The ids of a chat prompt that fits: the oldest history rounds are left out until prompt plus room for the reply
 * ({@code max_new_tokens}, or at least one token) fits in {@code max_length}. The reference would instead fail.
 *
 * <p>Linear in the history: each round is tokenized once on its own, which tells (up to a few tokens at round
 * boundaries) how many rounds must go; the whole prompt is then tokenized for that count and the exact answer
 * found by galloping from it, a handful of whole-prompt tokenizations however long the history.
 *
 * @param dropped how many of the oldest rounds were left out
 */
public record PreparedPrompt(int[] ids, int dropped) {

    public static PreparedPrompt of(ChatGlmTokenizer tokenizer, String query, List<Round> history, GenerationConfig config) {
        if (query == null) throw new ChatGlmException("the query is missing");
        int limit = config.maxLength() - (config.maxNewTokens() > 0 ? config.maxNewTokens() : 1);
        Fit fit = new Fit(tokenizer, query, history, limit, config.maxLength());
        int n = history.size();
        if (n == 0) return fit.require(0);

        // estimate: tokens of the prompt without the first d rounds ≈ sum of the kept rounds' own counts + the query
        long[] suffix = new long[n + 1];
        StringBuilder sb = new StringBuilder();
        suffix[n] = tokenizer.encode(ChatPrompt.appendQuery(sb, n, query).toString(), false).length + 2;
        for (int i = n - 1; i >= 0; i--) {
            sb.setLength(0);
            suffix[i] = suffix[i + 1] + tokenizer.encode(ChatPrompt.appendRound(sb, i, history.get(i)).toString(), false).length;
        }
        int guess = 0;
        while (guess < n && suffix[guess] > limit) guess++;

        // exact: the fewest rounds dropped such that the whole prompt fits (fitting is monotone in the drop count)
        if (fit.test(guess)) {
            int hi = guess, step = 1;           // fits
            int lo = guess - 1;                 // lo < 0 or does not fit, once found
            while (lo >= 0 && fit.test(lo)) {
                hi = lo;
                lo = hi - (step <<= 1);
            }
            return fit.require(search(fit, Math.max(lo, -1), hi));
        }
        int lo = guess, step = 1, hi = guess + 1;   // lo does not fit
        while (hi < n && !fit.test(hi)) {
            lo = hi;
            hi = Math.min(n, lo + (step <<= 1));
        }
        if (hi >= n) hi = n;
        return fit.require(search(fit, lo, hi));
    }

    /** Binary search for the smallest fitting drop count in (lo, hi], given hi fits or is the last resort n. */
    private static int search(Fit fit, int lo, int hi) {
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (fit.test(mid)) hi = mid;
            else lo = mid;
        }
        return hi;
    }

    /** Tokenizes the prompt without its first {@code d} rounds, remembering the last result. */
    private static final class Fit {
        final ChatGlmTokenizer tokenizer;
        final String query;
        final List<Round> history;
        final int limit;
        final int maxLength;
        int lastDropped = -1;
        int[] lastIds;

        Fit(ChatGlmTokenizer tokenizer, String query, List<Round> history, int limit, int maxLength) {
            this.maxLength = maxLength;
            this.tokenizer = tokenizer;
            this.query = query;
            this.history = history;
            this.limit = limit;
        }

        int[] ids(int dropped) {
            if (dropped != lastDropped) {
                lastIds = tokenizer.encodeForModel(ChatPrompt.build(query, history.subList(dropped, history.size())));
                lastDropped = dropped;
            }
            return lastIds;
        }

        boolean test(int dropped) {
            return ids(dropped).length <= limit;
        }

        PreparedPrompt require(int dropped) {
            int[] ids = ids(dropped);
            if (ids.length > limit) {
                throw new ChatGlmException("the query is " + ids.length + " tokens long: with max_length "
                        + maxLength + " there is no room for a reply");
            }
            return new PreparedPrompt(ids, dropped);
        }
    }
}
