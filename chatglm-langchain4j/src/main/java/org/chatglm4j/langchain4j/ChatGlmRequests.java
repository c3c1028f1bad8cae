package org.chatglm4j.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.Content;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.ResponseFormatType;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.response.ChatResponseMetadata;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.SamplingSettings;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * LangChain4j requests as ChatGLM sees them, and ChatGLM replies as LangChain4j responses.
 *
 * <p>Messages map as in the server's OpenAI API (docs/server.md): system messages, joined with newlines, go in
 * front of the first user query; a user message followed by an AI message is one history round; user messages in
 * a row are joined with newlines; the last message must come from the user. ChatGLM-6B has no tools, no JSON mode
 * and no image input: requests that ask for them fail with {@link UnsupportedFeatureException} before any work.
 */
final class ChatGlmRequests {
    private ChatGlmRequests() {
    }

    /** A conversation ready for {@code streamChat}. */
    record Conversation(String query, List<Round> history) {
    }

    /** Refuses what ChatGLM-6B cannot do; used on every request and on a builder's default parameters. */
    static void checkSupported(ChatRequestParameters p, String modelName) {
        if (p == null) return;
        if (p.modelName() != null && !p.modelName().equals(modelName)) {
            throw new UnsupportedFeatureException("modelName '" + p.modelName() + "' is not supported: this chat model"
                    + " runs the loaded model '" + modelName + "' only (load another ChatGlmRuntime for another model)");
        }
        if (p.toolChoice() == ToolChoice.REQUIRED) {
            throw new UnsupportedFeatureException("ToolChoice.REQUIRED is not supported by ChatGLM-6B (it has no tool calling)");
        }
        if (p.toolSpecifications() != null && !p.toolSpecifications().isEmpty()) {
            throw new UnsupportedFeatureException("tools are not supported by ChatGLM-6B (it has no tool calling)");
        }
        if (p.responseFormat() != null && p.responseFormat().type() == ResponseFormatType.JSON) {
            throw new UnsupportedFeatureException("JSON response format is not supported by ChatGLM-6B"
                    + " (it has no constrained decoding)");
        }
        if (p.frequencyPenalty() != null) {
            throw new UnsupportedFeatureException("frequencyPenalty is not supported by ChatGLM-6B;"
                    + " use ChatGlmChatRequestParameters.repetitionPenalty");
        }
        if (p.presencePenalty() != null) {
            throw new UnsupportedFeatureException("presencePenalty is not supported by ChatGLM-6B;"
                    + " use ChatGlmChatRequestParameters.repetitionPenalty");
        }
    }

    static Conversation conversation(List<ChatMessage> messages) {
        if (messages == null || messages.isEmpty()) throw new IllegalArgumentException("messages must not be empty");
        StringBuilder system = null;
        List<Round> rounds = new ArrayList<>();
        String pendingUser = null;
        for (ChatMessage m : messages) {
            switch (m) {
                case SystemMessage s -> system = system == null ? new StringBuilder(s.text()) : system.append('\n').append(s.text());
                case UserMessage u -> {
                    String text = text(u);
                    pendingUser = pendingUser == null ? text : pendingUser + "\n" + text;
                }
                case AiMessage a -> {
                    if (a.hasToolExecutionRequests()) {
                        throw new UnsupportedFeatureException("tools are not supported by ChatGLM-6B (it has no tool calling)");
                    }
                    rounds.add(new Round(pendingUser == null ? "" : pendingUser, a.text() == null ? "" : a.text()));
                    pendingUser = null;
                }
                case ToolExecutionResultMessage t -> throw new UnsupportedFeatureException(
                        "tools are not supported by ChatGLM-6B (it has no tool calling)");
                default -> throw new UnsupportedFeatureException(
                        "message type " + m.type() + " is not supported by ChatGLM-6B");
            }
        }
        if (pendingUser == null) throw new IllegalArgumentException("the last message must come from the user");
        String query = pendingUser;
        if (system != null) {
            if (rounds.isEmpty()) {
                query = system + "\n" + query;
            } else {
                Round first = rounds.getFirst();
                rounds.set(0, new Round(system + "\n" + first.query(), first.response()));
            }
        }
        return new Conversation(query, List.copyOf(rounds));
    }

    private static String text(UserMessage u) {
        StringBuilder sb = new StringBuilder();
        for (Content c : u.contents()) {
            if (!(c instanceof TextContent t)) {
                String kind = c.type().name().toLowerCase(java.util.Locale.ROOT);
                throw new UnsupportedFeatureException(kind + " input is not supported by ChatGLM-6B (it reads text only)");
            }
            if (!sb.isEmpty()) sb.append('\n');
            sb.append(t.text());
        }
        return sb.toString();
    }

    /**
     * The generation settings of a request whose parameters were already merged with the defaults. Temperature 0
     * means greedy decoding (the LangChain4j convention for "deterministic"); top-k 0 turns top-k off.
     */
    static GenerationConfig generationConfig(ChatRequestParameters p, int contextLength) {
        SamplingSettings base = SamplingSettings.chatDefaults();
        double temperature = p.temperature() != null ? p.temperature() : base.temperature();
        double topP = p.topP() != null ? p.topP() : base.topP();
        int topK = p.topK() != null ? p.topK() : base.topK();
        double penalty = base.repetitionPenalty();
        Long seed = null;
        if (p instanceof ChatGlmChatRequestParameters g) {
            if (g.repetitionPenalty() != null) penalty = g.repetitionPenalty();
            seed = g.seed();
        }
        if (temperature < 0) throw new IllegalArgumentException("temperature must not be negative, got " + temperature);
        SamplingSettings sampling = temperature == 0
                ? new SamplingSettings(false, 1.0, 0, 1.0, penalty)
                : new SamplingSettings(true, temperature, topK, topP, penalty);
        Integer max = p.maxOutputTokens();
        if (max != null && max < 1) throw new IllegalArgumentException("maxOutputTokens must be at least 1, got " + max);
        return new GenerationConfig(contextLength, max == null ? 0 : max, sampling, seed,
                p.stopSequences() == null ? List.of() : p.stopSequences());
    }

    static dev.langchain4j.model.chat.response.ChatResponse response(ChatResponse r, String modelName) {
        return dev.langchain4j.model.chat.response.ChatResponse.builder()
                .aiMessage(AiMessage.from(r.response()))
                .metadata(ChatResponseMetadata.builder()
                        .id("chatglm-" + UUID.randomUUID())
                        .modelName(modelName)
                        .tokenUsage(new TokenUsage(r.promptTokens(), r.completionTokens()))
                        .finishReason(finishReason(r.finishReason()))
                        .build())
                .build();
    }

    static FinishReason finishReason(org.chatglm4j.generate.FinishReason reason) {
        return switch (reason) {
            case EOS, STOP -> FinishReason.STOP;
            case LENGTH -> FinishReason.LENGTH;
            case CANCELLED -> FinishReason.OTHER;
        };
    }
}
