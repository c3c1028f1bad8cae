package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.SamplingSettings;

import java.util.ArrayList;
import java.util.List;

/**
 * A parsed {@code POST /v1/chat/completions} body.
 *
 * @param contextLength prompt plus reply limit: the model's {@code max_sequence_length}, or less when the
 *                      request's {@code max_length} (an extension) says so
 * @param maxTokens     reply limit ({@code max_completion_tokens} or {@code max_tokens}), 0 when not given
 * @param config        what the engine gets (max length = context length, max new tokens = maxTokens)
 */
record CompletionRequest(Conversation conversation, GenerationConfig config, int contextLength, int maxTokens,
                         boolean stream, boolean includeUsage) {

    static final int MAX_STOP_STRINGS = 16;

    static CompletionRequest parse(JsonNode body, int modelContext) {
        return parse(body, modelContext, false);
    }

    /**
     * @param roles a ChatGLM3 model: the messages (with tool messages) and the tools are read by {@link ToolCalling};
     *              {@link #conversation()} is then null
     */
    static CompletionRequest parse(JsonNode body, int modelContext, boolean roles) {
        if (body == null || !body.isObject()) {
            throw ApiError.badRequest(null, "the request body must be a JSON object");
        }
        JsonArgs.string(body, "model"); // any model name is served by the one loaded model; only its type is checked
        Conversation conv = roles ? null : Conversation.fromMessages(body.get("messages"));

        Integer n = JsonArgs.integer(body, "n");
        if (n != null && n != 1) throw ApiError.badRequest("n", "only n = 1 is supported, got " + n);

        Double temperature = JsonArgs.number(body, "temperature");
        if (temperature != null && (temperature < 0 || temperature > 2)) {
            throw ApiError.badRequest("temperature", "temperature must be between 0 and 2, got " + temperature);
        }
        Double topP = JsonArgs.number(body, "top_p");
        if (topP != null && (topP < 0 || topP > 1)) {
            throw ApiError.badRequest("top_p", "top_p must be between 0 and 1, got " + topP);
        }
        Integer maxTokens = JsonArgs.integer(body, "max_completion_tokens");
        String maxTokensParam = "max_completion_tokens";
        if (maxTokens == null) {
            maxTokens = JsonArgs.integer(body, "max_tokens");
            maxTokensParam = "max_tokens";
        }
        if (maxTokens != null && maxTokens < 1) {
            throw ApiError.badRequest(maxTokensParam, maxTokensParam + " must be at least 1, got " + maxTokens);
        }
        Integer maxLength = JsonArgs.integer(body, "max_length");
        if (maxLength != null && maxLength < 1) {
            throw ApiError.badRequest("max_length", "max_length must be at least 1, got " + maxLength);
        }
        Long seed = JsonArgs.longValue(body, "seed");
        List<String> stop = stops(body.get("stop"));

        Boolean stream = JsonArgs.bool(body, "stream");
        boolean includeUsage = false;
        JsonNode so = body.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) throw ApiError.badRequest("stream_options", "stream_options must be an object");
            Boolean iu = JsonArgs.bool(so, "include_usage");
            includeUsage = iu != null && iu;
        }
        JsonNode tools = body.get("tools");
        if (!roles && tools != null && !tools.isNull() && !(tools.isArray() && tools.isEmpty())) {
            throw ApiError.badRequest("tools", "tools are not supported by this model");
        }
        JsonNode format = body.get("response_format");
        if (format != null && !format.isNull()) {
            JsonNode type = format.isObject() ? format.get("type") : null;
            if (type == null || !type.isTextual() || !type.textValue().equals("text")) {
                throw ApiError.badRequest("response_format", "only response_format {\"type\": \"text\"} is supported");
            }
        }

        // chat()'s defaults when the client leaves them out, so that a bare request answers as chat() does;
        // temperature 0 (or top_p 0, the limit of nucleus sampling) means greedy decoding
        SamplingSettings defaults = SamplingSettings.chatDefaults();
        double t = temperature != null ? temperature : defaults.temperature();
        double p = topP != null ? topP : defaults.topP();
        SamplingSettings sampling = t == 0 || p == 0 ? SamplingSettings.greedy()
                : new SamplingSettings(true, t, defaults.topK(), p, defaults.repetitionPenalty());

        int context = maxLength != null ? Math.min(maxLength, modelContext) : modelContext;
        int max = maxTokens != null ? maxTokens : 0;
        GenerationConfig config = new GenerationConfig(context, max, sampling, seed, stop);
        return new CompletionRequest(conv, config, context, max, stream != null && stream, includeUsage);
    }

    private static List<String> stops(JsonNode stop) {
        if (stop == null || stop.isNull()) return List.of();
        List<String> out = new ArrayList<>();
        if (stop.isTextual()) {
            out.add(stop.textValue());
        } else if (stop.isArray()) {
            if (stop.size() > MAX_STOP_STRINGS) {
                throw ApiError.badRequest("stop", "at most " + MAX_STOP_STRINGS + " stop strings are supported");
            }
            for (JsonNode s : stop) {
                if (!s.isTextual()) throw ApiError.badRequest("stop", "stop must be a string or a list of strings");
                out.add(s.textValue());
            }
        } else {
            throw ApiError.badRequest("stop", "stop must be a string or a list of strings, got " + JsonArgs.kind(stop));
        }
        for (String s : out) if (s.isEmpty()) throw ApiError.badRequest("stop", "stop strings must not be empty");
        return out;
    }
}
