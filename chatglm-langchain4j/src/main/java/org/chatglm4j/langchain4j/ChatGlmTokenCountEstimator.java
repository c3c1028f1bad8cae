package org.chatglm4j.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.TokenCountEstimator;
import org.chatglm4j.chat.ChatPrompt;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Counts tokens with ChatGLM's own tokenizer, so the counts are exact, not estimated: a text is counted as
 * {@code tokenizer.encode(text, add_special_tokens=False)}; a list of messages as the whole prompt the chat models
 * would feed the model (chat template, {@code [gMASK]} and {@code <sop>} included), which is what
 * {@code TokenUsage.inputTokenCount()} reports for it (when no history has to be dropped to fit).
 */
public final class ChatGlmTokenCountEstimator implements TokenCountEstimator {
    private final ChatGlmTokenizer tokenizer;

    public ChatGlmTokenCountEstimator(ChatGlmTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    public ChatGlmTokenCountEstimator(ChatGlmRuntime runtime) {
        this(runtime.tokenizer());
    }

    @Override
    public int estimateTokenCountInText(String text) {
        return tokenizer.encodeHfNoSpecial(text).length;
    }

    @Override
    public int estimateTokenCountInMessage(ChatMessage message) {
        return estimateTokenCountInText(text(message));
    }

    @Override
    public int estimateTokenCountInMessages(Iterable<ChatMessage> messages) {
        List<ChatMessage> list = new ArrayList<>();
        messages.forEach(list::add);
        ChatGlmRequests.Conversation c = ChatGlmRequests.conversation(list);
        return tokenizer.encodeForModel(ChatPrompt.build(c.query(), c.history())).length;
    }

    private static String text(ChatMessage m) {
        return switch (m) {
            case SystemMessage s -> s.text();
            case AiMessage a -> a.text() == null ? "" : a.text();
            case UserMessage u -> {
                StringBuilder sb = new StringBuilder();
                u.contents().forEach(c -> {
                    if (c instanceof TextContent t) sb.append(sb.isEmpty() ? "" : "\n").append(t.text());
                });
                yield sb.toString();
            }
            default -> "";
        };
    }
}
