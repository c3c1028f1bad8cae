package org.chatglm4j.chat;

import org.chatglm4j.generate.GenerationResult;

import java.util.Arrays;
import java.util.List;

/**
 * Turns generated ids into the chat reply as they arrive: after each token the response so far (exactly what the
 * reference's stream_chat yields at that step, in the model's {@link ChatFormat}), the final deltas for the
 * listener, and the stop strings. Text work per token is only done when someone
 * listens or stop strings are set.
 */
final class ReplyAssembler {
    private final ChatFormat format;
    private final PromptTokenizer tokenizer;
    private final List<Message> history;
    private final ChatListener listener;
    private final ResponseStreamer streamer;
    private final boolean perToken;
    private int[] ids = new int[64];
    private int count;
    private boolean stopped;

    /** @param history the conversation including the new message, as process_response sees it */
    ReplyAssembler(ChatFormat format, PromptTokenizer tokenizer, List<Message> history, ChatListener listener,
                   List<String> stop) {
        this.format = format;
        this.tokenizer = tokenizer;
        this.history = history;
        this.listener = listener;
        this.streamer = new ResponseStreamer(stop);
        this.perToken = listener != null || !stop.isEmpty();
    }

    /** Takes the next token; returns false when a stop string ended the reply. */
    boolean onToken(int token) {
        if (perToken) {
            if (count == ids.length) ids = Arrays.copyOf(ids, 2 * count);
            ids[count++] = token;
            String decoded = tokenizer.decode(Arrays.copyOf(ids, Math.max(0, count - format.droppedTail())));
            String full = format.yields(decoded) ? streamText(decoded) : null;
            if (full != null) {
                String delta = streamer.update(full);
                if (delta == null) {
                    stopped = true;
                    return false;
                }
                if (listener != null) listener.onUpdate(delta, full);
            }
        }
        return true;
    }

    /** The reply text at a step, or null when it is not text (a tool call being written). */
    private String streamText(String decoded) {
        try {
            AssistantReply r = format.postprocess(decoded, history).reply();
            return r.isText() ? r.content() : null;
        } catch (ToolCallException e) {
            return null;   // a tool call not yet complete (the reference's stream_chat would raise here)
        }
    }

    /** Whether a stop string ended the reply. */
    boolean stopped() {
        return stopped;
    }

    /** The final reply (process_response of the decoded ids); flushes the rest of its text to the listener. */
    ChatFormat.Reply finish(GenerationResult result) {
        ChatFormat.Reply reply;
        if (stopped) {
            String text = streamer.response();
            reply = new ChatFormat.Reply(AssistantReply.text(text), List.of(Message.assistant(null, text)));
        } else {
            int[] gen = result.generatedIds();
            reply = format.postprocess(tokenizer.decode(Arrays.copyOf(gen, Math.max(0, gen.length - format.droppedTail()))),
                    history);
        }
        if (listener != null && !stopped && reply.reply().isText()) {
            String response = reply.reply().content();
            String delta = streamer.update(response);   // all of it when no token came before (beam search)
            String rest = (delta == null ? "" : delta) + streamer.finish();
            if (!rest.isEmpty()) listener.onUpdate(rest, response);
        }
        return reply;
    }
}
