package org.chatglm4j.chat;

import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * Turns generated ids into the chat reply as they arrive: after each token the response so far
 * ({@code process_response(decode(ids))}, exactly what the reference's stream_chat yields), the final deltas for
 * the listener, and the stop strings. Work per token is only done when someone listens or stop strings are set.
 */
final class ReplyAssembler {
    private final ChatGlmTokenizer tokenizer;
    private final ChatListener listener;
    private final ResponseStreamer streamer;
    private final boolean perToken;
    private int[] ids = new int[64];
    private int count;
    private boolean stopped;

    ReplyAssembler(ChatGlmTokenizer tokenizer, ChatListener listener, List<String> stop) {
        this.tokenizer = tokenizer;
        this.listener = listener;
        this.streamer = new ResponseStreamer(stop);
        this.perToken = listener != null || !stop.isEmpty();
    }

    /** Takes the next token; returns false when a stop string ended the reply. */
    boolean onToken(int token) {
        if (!perToken) return true;
        if (count == ids.length) ids = Arrays.copyOf(ids, 2 * count);
        ids[count++] = token;
        String full = ResponsePostprocess.apply(tokenizer.decodeForChat(Arrays.copyOf(ids, count)));
        String delta = streamer.update(full);
        if (delta == null) {
            stopped = true;
            return false;
        }
        if (listener != null) listener.onUpdate(delta, full);
        return true;
    }

    boolean stopped() {
        return stopped;
    }

    /** The final response; flushes the rest of it to the listener. */
    String finish(GenerationResult result) {
        String response = stopped ? streamer.response()
                : ResponsePostprocess.apply(tokenizer.decodeForChat(result.generatedIds()));
        if (listener != null && !stopped) {
            String delta = streamer.update(response);   // all of it when no token came before (beam search)
            String rest = (delta == null ? "" : delta) + streamer.finish();
            if (!rest.isEmpty()) listener.onUpdate(rest, response);
        }
        return response;
    }
}
