package org.chatglm4j.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.params.provider.Arguments;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/** Access to the two tokenizer goldens ({@code tokenizer_unigram}, {@code tokenizer_bpe}) and their tokenizers. */
final class TokenizerGoldens {
    static final List<String> NAMES = List.of("tokenizer_unigram", "tokenizer_bpe");
    private static final Map<String, ChatGlmTokenizer> TOKENIZERS = new ConcurrentHashMap<>();

    private TokenizerGoldens() {
    }

    static ChatGlmTokenizer tokenizer(String name) {
        return TOKENIZERS.computeIfAbsent(name, n -> ChatGlmTokenizer.load(Fixtures.path(n)));
    }

    static JsonNode golden(String name) {
        return Fixtures.json(name + "/tokenizer.json");
    }

    /** (tokenizer name, case index, short label, case) for every encode case of both goldens. */
    static Stream<Arguments> encodeCases() {
        return cases("cases");
    }

    /** (tokenizer name, case index, short label, case) for every decode case of both goldens. */
    static Stream<Arguments> decodeCases() {
        return cases("decode_cases");
    }

    private static Stream<Arguments> cases(String field) {
        List<Arguments> out = new ArrayList<>();
        for (String name : NAMES) {
            JsonNode cases = golden(name).get(field);
            for (int i = 0; i < cases.size(); i++) {
                JsonNode c = cases.get(i);
                String label = c.has("text") ? c.get("category").asText() + " " + shorten(c.get("text").asText())
                        : "ids " + shorten(c.get("ids").toString());
                out.add(Arguments.of(name, i, label, c));
            }
        }
        return out.stream();
    }

    /** A one-line, short rendering of a case text for test names. */
    static String shorten(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(32).forEach(cp -> {
            if (cp == '\n') b.append("\\n");
            else if (cp == '\t') b.append("\\t");
            else if (cp == '\r') b.append("\\r");
            else if (cp < 0x20) b.append(String.format("\\x%02x", cp));
            else b.appendCodePoint(cp);
        });
        if (s.codePointCount(0, s.length()) > 32) b.append('…');
        return "\"" + b + "\"";
    }
}
