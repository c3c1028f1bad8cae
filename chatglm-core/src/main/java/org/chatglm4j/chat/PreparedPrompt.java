package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.util.List;

/**
 * The ids of a chat prompt that fits: the oldest history rounds are left out until prompt plus room for the reply
 * ({@code max_new_tokens}, or at least one token) fits in {@code max_length}. The reference would instead fail.
 *
 * @param dropped how many of the oldest rounds were left out
 */
public record PreparedPrompt(int[] ids, int dropped) {

    /** The prompt ids of {@code query} after {@code history}, leaving out the oldest rounds until it fits. */
    public static PreparedPrompt of(ChatGlmTokenizer tokenizer, String query, List<Round> history, GenerationConfig config) {
        if (query == null) throw new ChatGlmException("the query is missing");
        int room = config.maxNewTokens() > 0 ? config.maxNewTokens() : 1;
        for (int dropped = 0; ; dropped++) {
            int[] ids = tokenizer.encodeForModel(ChatPrompt.build(query, history.subList(dropped, history.size())));
            if (ids.length + room <= config.maxLength()) return new PreparedPrompt(ids, dropped);
            if (dropped == history.size()) {
                throw new ChatGlmException("the query is " + ids.length + " tokens long: with max_length "
                        + config.maxLength() + " there is no room for a reply");
            }
        }
    }
}
