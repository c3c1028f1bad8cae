package org.chatglm4j.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.chat.ChatEngine;

import java.io.IOException;
import java.util.concurrent.ScheduledExecutorService;

/** What the request handlers of one server share. */
record ServerContext(ChatEngine engine, ServerOptions options, Admission admission,
                     ScheduledExecutorService scheduler, ObjectMapper json, long startedEpochSeconds) {

    static ObjectMapper newMapper() {
        return new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    /** Parses a request body; anything but a JSON object is a 400. */
    JsonNode parseObject(byte[] body) {
        JsonNode node;
        try {
            node = body.length == 0 ? null : json.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiError.badRequest(null, "invalid_json", "the request body is not valid JSON: "
                    + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiError.badRequest(null, "invalid_json", "the request body is not valid JSON");
        }
        if (node == null || !node.isObject()) {
            throw ApiError.badRequest(null, "the request body must be a JSON object");
        }
        return node;
    }

    String write(Object value) {
        try {
            return json.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialize a response", e);
        }
    }

    /** The model's context: prompt plus reply tokens it was trained for. */
    int modelContext() {
        return engine.config().maxSequenceLength();
    }
}
