package org.chatglm4j.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.util.List;

/** JSON lines in and out: one compact object per line, UTF-8, flushed per line. */
final class Json {
    static final ObjectMapper MAPPER = new ObjectMapper();

    static {
        // input lines are already bounded by InputLines; only the nesting depth needs a tighter bound
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
        // "{...} junk" and {"query": 1, "query": 2} are mistakes, not objects
        MAPPER.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        MAPPER.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    }

    private Json() {
    }

    /** A problem with one input line: reported as an error object for that line, then the next line is read. */
    static final class LineException extends RuntimeException {
        LineException(String message) {
            super(message);
        }
    }

    /** Parses one input line as a JSON object. */
    static ObjectNode parseObject(String line) {
        if (line.isBlank()) throw new LineException("empty line, expected a JSON object");
        JsonNode node;
        try {
            node = MAPPER.readTree(line);
        } catch (JsonProcessingException e) {
            throw new LineException("invalid JSON: " + ErrorReporter.oneLine(e.getOriginalMessage()));
        }
        if (!(node instanceof ObjectNode obj)) {
            throw new LineException("expected a JSON object, got " + kind(node));
        }
        return obj;
    }

    static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) return "nothing";
        return switch (n.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            default -> n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    static void writeLine(PrintStream out, JsonNode node) {
        try {
            out.println(MAPPER.writeValueAsString(node));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);   // a tree of plain nodes always serializes
        }
        out.flush();
    }

    /** The error object of a failed line. */
    static ObjectNode error(String message) {
        return MAPPER.createObjectNode().put("error", message);
    }

    static ArrayNode ints(int[] ids) {
        ArrayNode a = MAPPER.createArrayNode();
        for (int id : ids) a.add(id);
        return a;
    }

    static ArrayNode strings(List<String> list) {
        ArrayNode a = MAPPER.createArrayNode();
        for (String s : list) a.add(s);
        return a;
    }

    /** Token ids from a JSON array of integers. */
    static int[] idArray(JsonNode n, String field) {
        if (n == null || !n.isArray()) throw new LineException(field + " must be an array of token ids, got " + kind(n));
        int[] ids = new int[n.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode e = n.get(i);
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw new LineException(field + "[" + i + "] must be an integer token id, got " + e);
            }
            ids[i] = e.intValue();
        }
        return ids;
    }
}
