package org.chatglm4j.train;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a JSON-lines data file like AdvertiseGen's ({@code {"content": …, "summary": …}} per line, or chat data
 * with a {@code history} column of {@code [query, response]} pairs). Every problem names the file, the line and
 * the column: invalid JSON, a line that is not an object, a missing column, a value of the wrong type, an empty
 * file. Blank lines are skipped.
 */
public final class DataFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DataFile() {
    }

    /**
     * The rows of {@code file}, in order; {@code historyColumn} may be null for none. Throws {@link ChatGlmException}
     * naming the file, line and column of any problem.
     */
    public static List<TrainingRow> read(Path file, String promptColumn, String responseColumn, String historyColumn) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (NoSuchFileException e) {
            throw new ChatGlmException(file + ": no such file");
        } catch (CharacterCodingException e) {
            throw new ChatGlmException(file + ": not UTF-8 text");
        } catch (IOException e) {
            throw new ChatGlmException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        List<TrainingRow> rows = new ArrayList<>();
        String[] lines = text.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            if (line.isBlank()) continue;
            int no = i + 1;
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                JsonLocation loc = e.getLocation();
                int col = loc == null ? 1 : Math.max(1, loc.getColumnNr());
                throw new ChatGlmException(file + ":" + no + ":" + col + ": invalid JSON: " + e.getOriginalMessage());
            }
            if (node == null || !node.isObject()) {
                throw new ChatGlmException(file + ":" + no + ":1: expected a JSON object per line");
            }
            String prompt = text(file, no, node, promptColumn);
            String response = text(file, no, node, responseColumn);
            List<String[]> history = historyColumn == null ? List.of() : history(file, no, node, historyColumn);
            rows.add(new TrainingRow(prompt, response, history, no));
        }
        if (rows.isEmpty()) throw new ChatGlmException(file + ": no data (the file is empty)");
        return rows;
    }

    private static String text(Path file, int line, JsonNode node, String column) {
        JsonNode v = node.get(column);
        if (v == null) {
            throw new ChatGlmException(file + ":" + line + ":1: no column \"" + column + "\" (the line has "
                    + String.join(", ", iterable(node)) + ")");
        }
        if (v.isNull()) return null;
        if (!v.isTextual()) throw new ChatGlmException(file + ":" + line + ":1: column \"" + column + "\" is not a string");
        return v.asText();
    }

    private static List<String[]> history(Path file, int line, JsonNode node, String column) {
        JsonNode v = node.get(column);
        if (v == null) {
            throw new ChatGlmException(file + ":" + line + ":1: no column \"" + column + "\" (the line has "
                    + String.join(", ", iterable(node)) + ")");
        }
        List<String[]> turns = new ArrayList<>();
        if (v.isNull()) return turns;
        String bad = file + ":" + line + ":1: column \"" + column + "\" must be a list of [query, response] pairs";
        if (!v.isArray()) throw new ChatGlmException(bad);
        for (JsonNode turn : v) {
            if (!turn.isArray() || turn.size() != 2 || !turn.get(0).isTextual() || !turn.get(1).isTextual()) {
                throw new ChatGlmException(bad);
            }
            turns.add(new String[]{turn.get(0).asText(), turn.get(1).asText()});
        }
        return turns;
    }

    private static List<String> iterable(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(n -> names.add("\"" + n + "\""));
        return names;
    }
}
