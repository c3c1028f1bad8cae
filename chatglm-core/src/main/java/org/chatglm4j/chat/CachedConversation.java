package org.chatglm4j.chat;

import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.model.KvCache;

import java.util.ArrayList;
import java.util.List;

/**
 * A ChatGLM2/3 conversation that keeps its KV cache between rounds, as the reference's cli_demo.py does with
 * {@code stream_chat(..., past_key_values=pkv, return_past_key_values=True)}: the first round feeds the whole
 * prompt, each later round only its own new ids ({@link ChatFormat#continuation}), so a long conversation costs
 * only its new tokens. As in the reference, {@code max_length} counts a round's new ids and reply, and the cache
 * holds every token fed (never the last generated one). Not thread-safe; close it to free the cache.
 */
public final class CachedConversation implements AutoCloseable {
    private final ChatGLM glm;
    private final KvCache cache;
    private List<Message> history;

    CachedConversation(ChatGLM glm, KvCache cache, List<Message> history) {
        this.glm = glm;
        this.cache = cache;
        this.history = List.copyOf(history);
    }

    /** The next message (ChatGLM3 roles; ChatGLM2 takes user messages). */
    public ConversationResponse streamChat(Message message, GenerationConfig config, ChatListener listener,
                                           Cancellation cancellation) {
        ConversationResponse r = glm.continueOn(this, message, config, listener, cancellation);
        history = r.history();
        return r;
    }

    /** ChatGLM2's next query, with the history as (query, response) rounds. */
    public ChatResponse streamChat(String query, GenerationConfig config, ChatListener listener, Cancellation cancellation) {
        ConversationResponse r = streamChat(Message.user(query), config, listener, cancellation);
        List<Round> rounds = new ArrayList<>();
        List<Message> h = r.history();
        for (int i = 0; i + 1 < h.size(); i += 2) rounds.add(new Round(h.get(i).content(), h.get(i + 1).content()));
        String text = r.reply().isText() ? r.reply().content() : r.reply().toJson().toString();
        return new ChatResponse(text, List.copyOf(rounds), r.finishReason(), r.promptTokens(), r.completionTokens(),
                r.droppedMessages() / 2, r.generation());
    }

    /** The messages so far (immutable), replies included: what the cache holds. */
    public List<Message> history() {
        return history;
    }

    /** Tokens held by the cache (the reference's {@code past_key_values[0][0].shape[0]}, prefix excluded). */
    public int pastLength() {
        return cache.tokens();
    }

    KvCache cache() {
        return cache;
    }

    @Override
    public void close() {
        cache.close();
    }
}
