package org.chatglm4j.chat;

import java.util.List;

/**
 * Turns the growing response of a streaming chat into text deltas that never have to be taken back.
 *
 * <p>The reference recomputes {@code process_response(decode(ids))} after every token, and later tokens can still
 * change the end of that text: trailing whitespace is stripped, a half-width mark becomes full-width when a CJK
 * character follows, Hugging Face's clean-up joins {@code " ."} or {@code " n't"}, an incomplete UTF-8 sequence
 * of byte pieces decodes to U+FFFD until its last byte arrives, a placeholder or a stop string may be half
 * written. So the streamer holds back such a tail and emits only a prefix that is final; the deltas always
 * concatenate to a prefix of the final response, and {@link #finish} emits the rest.
 */
public final class ResponseStreamer {
    private static final String PLACEHOLDER = "[[训练时间]]";
    /** Hugging Face clean_up_tokenization patterns that start with a space, without that space. */
    private static final List<String> CLEANUP_TAILS = List.of(".", "?", "!", ",", "' ", "n't", "'m", "'s", "'ve", "'re");

    private final List<String> stop;
    private String emitted = "";
    private String response = "";

    /** A streamer that ends the reply at the first of {@code stopStrings}. */
    public ResponseStreamer(List<String> stopStrings) {
        this.stop = List.copyOf(stopStrings);
    }

    /** The response as the reference would yield it now. */
    public String response() {
        return response;
    }

    /**
     * Takes the new full response (process_response applied) and returns the delta that became final, possibly
     * empty. Returns null when a stop string appeared: the response then ends before it (see {@link #response()}).
     */
    public String update(String fullResponse) {
        int cut = firstStop(fullResponse);
        if (cut >= 0) {
            response = ResponsePostprocess.pythonStrip(fullResponse.substring(0, cut));
            return null;
        }
        response = fullResponse;
        int stable = stableLength(fullResponse);
        if (stable <= emitted.length() || !fullResponse.startsWith(emitted)) return "";
        String delta = fullResponse.substring(emitted.length(), stable);
        emitted += delta;
        return delta;
    }

    /** The rest of the final response (empty if the emitted deltas cannot be extended to it). */
    public String finish() {
        if (!response.startsWith(emitted)) return "";
        String delta = response.substring(emitted.length());
        emitted += delta;
        return delta;
    }

    /** Whether the deltas emitted so far spell the whole final response. */
    public boolean complete() {
        return emitted.equals(response);
    }

    private int firstStop(String s) {
        int best = -1;
        for (String st : stop) {
            int i = s.indexOf(st);
            if (i >= 0 && (best < 0 || i < best)) best = i;
        }
        return best;
    }

    /** Length of the prefix of {@code s} that no later token can change. */
    int stableLength(String s) {
        int end = s.length();
        // a trailing run of whitespace, replacement characters (incomplete UTF-8) and half-width marks
        while (end > 0) {
            char c = s.charAt(end - 1);
            if (ResponsePostprocess.isPythonSpace(c) || c == '\uFFFD' || ",!:;?".indexOf(c) >= 0) end--;
            else break;
        }
        // a word after the last space that may still become one of the clean-up patterns
        int space = s.lastIndexOf(' ', end - 1);
        if (space >= 0) {
            String tail = s.substring(space + 1, end);
            for (String p : CLEANUP_TAILS) {
                if (p.length() > tail.length() && p.startsWith(tail)) {
                    end = space;
                    break;
                }
            }
        }
        end = Math.min(end, s.length() - partialSuffix(s, PLACEHOLDER));
        for (String st : stop) end = Math.min(end, s.length() - partialSuffix(s, st));
        return Math.max(end, 0);
    }

    /** Length of the longest proper prefix of {@code word} that {@code s} ends with. */
    private static int partialSuffix(String s, String word) {
        for (int k = Math.min(word.length() - 1, s.length()); k > 0; k--) {
            if (s.regionMatches(s.length() - k, word, 0, k)) return k;
        }
        return 0;
    }
}
