package org.chatglm4j.eval;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;

/**
 * A JSON-lines file (one object per line, as AdvertiseGen and generated_predictions.txt are), read strictly: every
 * problem is an {@link EvalException} naming the file, the line and the column. Blank lines are skipped; a file
 * without any object is an error.
 */
final class JsonLines {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** One object of the file and where it is (1-based line number). */
    record Row(Path file, int line, ObjectNode object) {
        /** The string in {@code column}; null when the value is JSON null (datasets reads both as None). */
        String string(String column) {
            JsonNode v = object.get(column);
            if (v == null) throw error("no \"" + column + "\" column");
            if (v.isNull()) return null;
            if (!v.isTextual()) throw error("\"" + column + "\" is " + kind(v) + ", not a string");
            return v.asText();
        }

        EvalException error(String message) {
            return new EvalException(file + ": line " + line + ", column 1: " + message);
        }
    }

    private JsonLines() {
    }

    static List<Row> read(Path file) {
        List<Row> rows = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(Files.newInputStream(file),
                StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)))) {
            int lineNo = 0;
            for (String line; (line = r.readLine()) != null; ) {
                lineNo++;
                if (lineNo == 1 && line.startsWith("\uFEFF")) line = line.substring(1);
                if (line.isBlank()) continue;
                rows.add(new Row(file, lineNo, parse(file, lineNo, line)));
            }
        } catch (NoSuchFileException e) {
            throw new EvalException(file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new EvalException(file + ": line " + (rows.isEmpty() ? 1 : rows.getLast().line() + 1)
                    + ": not UTF-8 text");
        } catch (IOException e) {
            throw new EvalException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (rows.isEmpty()) throw new EvalException(file + ": empty file (no JSON object on any line)");
        return rows;
    }

    private static ObjectNode parse(Path file, int lineNo, String line) {
        JsonNode node;
        try {
            node = MAPPER.readTree(line);
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            int column = at == null ? 1 : Math.max(1, at.getColumnNr());
            throw new EvalException(file + ": line " + lineNo + ", column " + column + ": invalid JSON: "
                    + oneLine(e.getOriginalMessage()));
        }
        if (!(node instanceof ObjectNode o)) {
            throw new EvalException(file + ": line " + lineNo + ", column 1: expected a JSON object, got " + kind(node));
        }
        return o;
    }

    static String kind(JsonNode v) {
        return switch (v.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case STRING -> "a string";
            default -> v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    static String oneLine(String s) {
        if (s == null) return "";
        String line = s.replaceAll("\\s*[\\r\\n]+\\s*", " ").replaceAll("\\p{Cntrl}", "?").strip();
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }
}
