package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.Message;
import org.chatglm4j.chat.Role;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.SamplingSettings;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * One line of {@code chat --json}: {@code {"query": …}} with optional per-round overrides of the command-line
 * settings ({@code max_length, max_new_tokens, top_p, temperature, top_k, do_sample, seed, repetition_penalty,
 * stop, num_beams, length_penalty, early_stopping}) and an optional {@code history} that replaces the
 * conversation. A null value means "not given".
 *
 * @param history the conversation to continue, or null to continue the current one
 */
record ChatRequest(String query, GenerationConfig config, List<Round> history, Role role, List<Message> messages) {

    static final Set<String> KEYS = Set.of("query", "history", "role", "max_length", "max_new_tokens", "top_p",
            "temperature", "top_k", "do_sample", "seed", "repetition_penalty", "stop", "num_beams", "length_penalty",
            "early_stopping");

    /**
     * @param base          the settings of the command line
     * @param unknownKey    hears keys this protocol does not know (they are ignored)
     * @throws Json.LineException for a missing query or a value of the wrong type or range
     */
    static ChatRequest parse(ObjectNode o, GenerationConfig base, Consumer<String> unknownKey) {
        return parse(o, base, unknownKey, false);
    }

    /**
     * @param withRoles ChatGLM3: {@code role} ({@code user} or {@code observation}, default user) is the role of the
     *                  query, {@code history} a list of the reference's message dicts; otherwise {@code role} may
     *                  only be {@code user} and {@code history} holds [query, response] pairs
     */
    static ChatRequest parse(ObjectNode o, GenerationConfig base, Consumer<String> unknownKey, boolean withRoles) {
        for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k)) unknownKey.accept(k);
        }
        JsonNode q = given(o, "query");
        if (q == null) throw new Json.LineException("\"query\" is missing");
        if (!q.isTextual()) throw new Json.LineException("query must be a string, got " + Json.kind(q));

        SamplingSettings s = base.sampling();
        GenerationConfig c;
        try {
            s = new SamplingSettings(bool(o, "do_sample", s.doSample()), number(o, "temperature", s.temperature()),
                    integer(o, "top_k", s.topK()), number(o, "top_p", s.topP()),
                    number(o, "repetition_penalty", s.repetitionPenalty()));
            JsonNode seed = given(o, "seed");
            Long seedValue = base.seed();
            if (seed != null) {
                if (!seed.isIntegralNumber() || !seed.canConvertToLong()) {
                    throw new Json.LineException("seed must be an integer, got " + seed);
                }
                seedValue = seed.longValue();
            }
            c = new GenerationConfig(integer(o, "max_length", base.maxLength()),
                    integer(o, "max_new_tokens", base.maxNewTokens()), s, seedValue, stops(o, base.stop()),
                    base.eosTokenIds(),                    integer(o, "num_beams", base.numBeams()), number(o, "length_penalty", base.lengthPenalty()),
                    bool(o, "early_stopping", base.earlyStopping()));
            c.checkBeamSearch();
        } catch (ChatGlmException e) {
            throw new Json.LineException(e.getMessage());
        }
        Role role = role(o);
        if (!withRoles) {
            if (role != Role.USER) {
                throw new Json.LineException("role \"" + role.wireName() + "\" needs a ChatGLM3 model (--chat-format glm3)");
            }
            return new ChatRequest(q.textValue(), c, history(o), role, null);
        }
        return new ChatRequest(q.textValue(), c, null, role, messages(o));
    }

    private static Role role(ObjectNode o) {
        JsonNode n = given(o, "role");
        if (n == null) return Role.USER;
        if (!n.isTextual()) throw new Json.LineException("role must be a string, got " + Json.kind(n));
        try {
            return Role.parse(n.textValue());
        } catch (ChatGlmException e) {
            throw new Json.LineException(e.getMessage());
        }
    }

    /** ChatGLM3's history: a list of {@code {"role", "content", "metadata"?, "tools"?}}. */
    private static List<Message> messages(ObjectNode o) {
        JsonNode n = given(o, "history");
        if (n == null) return null;
        if (!n.isArray()) throw new Json.LineException("history must be a list of messages, got " + Json.kind(n));
        List<Message> out = new ArrayList<>(n.size());
        for (int i = 0; i < n.size(); i++) {
            try {
                out.add(Message.fromJson(n.get(i)));
            } catch (ChatGlmException e) {
                throw new Json.LineException("history[" + i + "]: " + e.getMessage());
            }
        }
        return out;
    }

    private static JsonNode given(ObjectNode o, String key) {
        JsonNode n = o.get(key);
        return n == null || n.isNull() ? null : n;
    }

    private static int integer(ObjectNode o, String key, int dflt) {
        JsonNode n = given(o, key);
        if (n == null) return dflt;
        // 50.0 is an integer to Python's json too: accept integral doubles, refuse 0.5
        if (n.isNumber() && n.canConvertToExactIntegral() && n.canConvertToInt()) return n.intValue();
        throw new Json.LineException(key + " must be an integer, got " + n);
    }

    private static double number(ObjectNode o, String key, double dflt) {
        JsonNode n = given(o, key);
        if (n == null) return dflt;
        if (!n.isNumber()) throw new Json.LineException(key + " must be a number, got " + n);
        return n.doubleValue();
    }

    private static boolean bool(ObjectNode o, String key, boolean dflt) {
        JsonNode n = given(o, key);
        if (n == null) return dflt;
        if (!n.isBoolean()) throw new Json.LineException(key + " must be true or false, got " + n);
        return n.booleanValue();
    }

    private static List<String> stops(ObjectNode o, List<String> dflt) {
        JsonNode n = given(o, "stop");
        if (n == null) return dflt;
        if (n.isTextual()) return List.of(n.textValue());
        if (!n.isArray()) throw new Json.LineException("stop must be a string or an array of strings, got " + Json.kind(n));
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) throw new Json.LineException("stop must hold strings only, got " + e);
            out.add(e.textValue());
        }
        return out;
    }

    /** {@code [[query, response], …]}, as the reference's history and this protocol's output give it. */
    private static List<Round> history(ObjectNode o) {
        JsonNode n = given(o, "history");
        if (n == null) return null;
        if (!n.isArray()) throw new Json.LineException("history must be a list of [query, response] pairs, got "
                + Json.kind(n));
        List<Round> rounds = new ArrayList<>(n.size());
        for (int i = 0; i < n.size(); i++) {
            JsonNode pair = n.get(i);
            if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isTextual() || !pair.get(1).isTextual()) {
                throw new Json.LineException("history[" + i + "] must be a [query, response] pair of strings, got "
                        + ErrorReporter.oneLine(pair.toString()));
            }
            rounds.add(new Round(pair.get(0).textValue(), pair.get(1).textValue()));
        }
        return rounds;
    }
}
