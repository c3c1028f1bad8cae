package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.EngineBusyException;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.SamplingSettings;

import java.io.IOException;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /}: the request and answer of ChatGLM-6B's {@code api.py}, so that its clients work unchanged.
 * Like there, {@code max_length}, {@code top_p} and {@code temperature} fall back to 2048, 0.7 and 0.95 when they
 * are missing or Python-falsy (0, null, false, "", [], {}) and sampling is always on. Unlike there, the body must
 * be declared as JSON (415 otherwise, against cross-site requests), bad input is a 400 rather than a 500,
 * {@code max_length} is capped at the model's context, and the oldest history rounds that do not fit in
 * {@code max_length} are left out of the prompt. Beyond api.py, {@code num_beams} (with {@code length_penalty},
 * {@code early_stopping}) selects beam search: chat() with {@code do_sample=False}.
 */
final class ReferenceApi {
    static final int DEFAULT_MAX_LENGTH = 2048;
    static final double DEFAULT_TOP_P = 0.7;
    static final double DEFAULT_TEMPERATURE = 0.95;
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    private final ServerContext ctx;

    ReferenceApi(ServerContext ctx) {
        this.ctx = ctx;
    }

    /** A checked {@code POST /} body: everything the engine gets. */
    record Request(String prompt, List<Round> history, GenerationConfig config) {
    }

    /** Checks and reads a parsed body (limits first); bad input is an {@link ApiError} 400. */
    static Request parse(JsonNode body, ServerLimits limits, int modelContext) {
        String prompt = JsonArgs.string(body, "prompt");
        if (prompt == null) throw ApiError.badRequest("prompt", "prompt is required");
        RequestBudget.entries(body.get("history"), "history", limits);
        List<Round> history = history(body.get("history"));
        RequestBudget.chars(limits, prompt, history, List.of());
        // capped at the model's context: a larger max_length would only let the KV cache grow past what it was trained for
        int maxLength = truthy(body.get("max_length"))
                ? Math.min(JsonArgs.integer(body, "max_length"), modelContext) : DEFAULT_MAX_LENGTH;
        double topP = truthy(body.get("top_p")) ? JsonArgs.number(body, "top_p") : DEFAULT_TOP_P;
        double temperature = truthy(body.get("temperature")) ? JsonArgs.number(body, "temperature") : DEFAULT_TEMPERATURE;
        // beyond api.py: num_beams > 1 runs beam search (do_sample=False; beam sampling is not implemented)
        Integer numBeams = JsonArgs.integer(body, "num_beams");
        Double lengthPenalty = JsonArgs.number(body, "length_penalty");
        Boolean earlyStopping = JsonArgs.bool(body, "early_stopping");
        int beams = numBeams == null ? 1 : numBeams;
        try {
            SamplingSettings d = SamplingSettings.chatDefaults();
            return new Request(prompt, history, new GenerationConfig(maxLength, 0,
                    new SamplingSettings(beams == 1, temperature, d.topK(), topP, d.repetitionPenalty()), null, List.of(),
                    List.of(), beams, lengthPenalty == null ? 1.0 : lengthPenalty, earlyStopping != null && earlyStopping));
        } catch (ChatGlmException e) {
            throw ApiError.badRequest(null, e.getMessage());
        }
    }

    void chat(Exchange ex) throws IOException {
        JsonNode body = ctx.parseObject(ex.readBody(ctx.options().maxBodyBytes()));
        Request req = parse(body, ctx.options().limits(), ctx.modelContext());
        String prompt = req.prompt();
        List<Round> history = req.history();
        GenerationConfig config = req.config();
        int maxLength = config.maxLength();
        Admission.Ticket ticket;
        try {
            ticket = ctx.admission().enter();
        } catch (EngineBusyException e) {
            throw ApiError.busy(503, e.getMessage());
        }
        ChatResponse r;
        try (RequestControl control = new RequestControl(ctx.scheduler(), ctx.options().requestTimeout());
             ticket) {
            if (!ticket.awaitSlot(control.cancellation, control.deadlineNanos)) throw ApiError.timeout();
            r = ctx.engine().streamChat(prompt, history, config, null, control.cancellation);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.internal("interrupted");
        } catch (EngineBusyException e) {
            throw ApiError.busy(503, e.getMessage());
        } catch (ChatGlmException e) {
            throw ApiError.badRequest(null, e.getMessage());
        }
        ex.tokensIn = r.promptTokens();
        ex.tokensOut = r.completionTokens();
        ex.generation = r.generation();
        if (r.droppedRounds() > 0) {
            ex.note = "dropped " + r.droppedRounds() + " oldest history round(s) to fit max_length " + maxLength;
        }
        if (r.finishReason() == FinishReason.CANCELLED) throw ApiError.timeout();
        ObjectNode root = ctx.json().createObjectNode();
        root.put("response", r.response());
        ArrayNode h = root.putArray("history");
        for (Round round : r.history()) h.addArray().add(round.query()).add(round.response());
        root.put("status", 200);
        root.put("time", LocalDateTime.now().format(TIME));
        ex.sendJson(200, ctx.write(root));
    }

    /** A list of [query, response] pairs; null (or any falsy value) is no history, as in Python. */
    static List<Round> history(JsonNode h) {
        if (!truthy(h)) return List.of();
        if (!h.isArray()) throw ApiError.badRequest("history", "history must be a list of [query, response] pairs");
        List<Round> out = new ArrayList<>(h.size());
        for (int i = 0; i < h.size(); i++) {
            JsonNode pair = h.get(i);
            if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isTextual() || !pair.get(1).isTextual()) {
                throw ApiError.badRequest("history", "history[" + i + "] must be a [query, response] pair of strings");
            }
            out.add(new Round(pair.get(0).textValue(), pair.get(1).textValue()));
        }
        return out;
    }

    /** Python's truth value of a JSON value. */
    static boolean truthy(JsonNode v) {
        if (v == null || v.isNull() || v.isMissingNode()) return false;
        if (v.isBoolean()) return v.booleanValue();
        if (v.isNumber()) return v.asDouble() != 0;
        if (v.isTextual()) return !v.textValue().isEmpty();
        if (v.isContainerNode()) return !v.isEmpty();
        return true;
    }
}
