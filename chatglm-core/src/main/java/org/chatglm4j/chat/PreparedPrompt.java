package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.GenerationConfig;

import java.util.function.IntFunction;

/**
 * The ids of a chat prompt that fits: the oldest history entries are left out until prompt plus room for the reply
 * ({@code max_new_tokens}, or at least one token) fits in {@code max_length}. The reference would instead fail.
 *
 * @param dropped how many of the oldest history messages were left out (two per v1/v2 round)
 */
public record PreparedPrompt(int[] ids, int dropped) {

    static int room(GenerationConfig config) {
        return config.maxNewTokens() > 0 ? config.maxNewTokens() : 1;
    }

    static boolean fits(int length, GenerationConfig config) {
        return length + room(config) <= config.maxLength();
    }

    /**
     * The fewest of {@code units} oldest units to leave out. {@code build.apply(d)} encodes the whole prompt without
     * the first d units; {@code estimate[i]} is about the token count of unit i, each computed once, so that the
     * whole prompt is encoded only a few times, whatever the length of the history.
     */
    static PreparedPrompt fit(int[] estimate, IntFunction<int[]> build, GenerationConfig config) {
        int units = estimate.length;
        int[] ids = build.apply(0);
        if (fits(ids.length, config)) return new PreparedPrompt(ids, 0);
        int over = ids.length + room(config) - config.maxLength();
        int d = 0;
        for (int sum = 0; d < units && sum < over; d++) sum += estimate[d];
        ids = build.apply(d);
        while (!fits(ids.length, config) && d < units) ids = build.apply(++d);
        if (!fits(ids.length, config)) {
            throw new ChatGlmException("the query is " + ids.length + " tokens long: with max_length "
                    + config.maxLength() + " there is no room for a reply");
        }
        while (d > 1) {   // an estimate too high: keep what still fits
            int[] fewer = build.apply(d - 1);
            if (!fits(fewer.length, config)) break;
            ids = fewer;
            d--;
        }
        return new PreparedPrompt(ids, d);
    }

    static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) n += p.length;
        int[] out = new int[n];
        int o = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
