package org.chatglm4j.chat;

import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationResult;

import java.util.List;

/**
 * A reply to a conversation of {@link Message}s (ChatGLM3's chat(): {@code response, history}).
 *
 * @param reply           the reply text, or a tool call
 * @param history         the whole conversation: the given history, the new message and the assistant message(s)
 *                        of the reply (even messages left out of the prompt)
 * @param droppedMessages oldest history messages left out of the prompt so that it fits in {@code max_length}
 */
public record ConversationResponse(AssistantReply reply, List<Message> history, FinishReason finishReason,
                                   int promptTokens, int completionTokens, int droppedMessages,
                                   GenerationResult generation) {
}
