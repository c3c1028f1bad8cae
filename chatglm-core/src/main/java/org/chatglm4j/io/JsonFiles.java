package org.chatglm4j.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Strict JSON parsing for checkpoint metadata: duplicate keys and trailing garbage are errors, not "last wins". */
final class JsonFiles {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private JsonFiles() {
    }

    /** Parses {@code bytes}, the JSON of {@code what} (a file, or a file's header), into a tree. */
    static JsonNode parse(String what, byte[] bytes) {
        try {
            JsonNode node = MAPPER.readTree(bytes);
            if (node == null || node.isMissingNode()) throw new ChatGlmException(what + ": invalid JSON: empty");
            return node;
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new ChatGlmException(what + ": invalid JSON" + where + ": " + oneLine(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new ChatGlmException(what + ": cannot parse JSON: " + oneLine(e.getMessage()), e);
        }
    }

    /** Reads a small JSON file (an index), refusing files larger than {@code maxBytes}. */
    static JsonNode read(Path file, long maxBytes) {
        try {
            long size = Files.size(file);
            if (size > maxBytes) {
                throw new ChatGlmException(file + ": " + size + " bytes is larger than the limit of " + maxBytes
                        + " bytes for a JSON index");
            }
            return parse(file.toString(), Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ChatGlmException(file + ": cannot read: " + e, e);
        }
    }

    /** A string fit for a one-line message: line breaks and control characters removed, at most 300 chars. */
    static String oneLine(String s) {
        if (s == null) return "";
        String line = s.replaceAll("\\s*[\\r\\n]+\\s*", " ").replaceAll("\\p{Cntrl}", "?").strip();
        return line.length() > 300 ? line.substring(0, 300) + "..." : line;
    }
}
