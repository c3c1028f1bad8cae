package org.chatglm4j.chat;

import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationResult;

import java.util.List;

/**
 * A chat reply.
 *
 * @param history       the conversation including this round (all past rounds, even those left out of the prompt)
 * @param droppedRounds oldest rounds left out of the prompt so that it fits in {@code max_length}
 * @param promptTokens  tokens of the prompt actually used
 */
public record ChatResponse(String response, List<Round> history, FinishReason finishReason, int promptTokens,
                           int completionTokens, int droppedRounds, GenerationResult generation) {
}
