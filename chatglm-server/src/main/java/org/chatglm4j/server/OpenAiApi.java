package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.EngineBusyException;
import org.chatglm4j.chat.Glm3ChatFormat;
import org.chatglm4j.chat.Message;
import org.chatglm4j.generate.FinishReason;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/** {@code GET /v1/models} and {@code POST /v1/chat/completions}, as OpenAI clients expect them. */
final class OpenAiApi {
    private static final Logger LOG = Logger.getLogger(OpenAiApi.class.getName());
    /** While a stream waits (queue, long prompt) a comment line this often keeps proxies open and finds gone clients. */
    static final long PING_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8);
    private static final byte[] PING = ": ping\n\n".getBytes(StandardCharsets.UTF_8);

    private final ServerContext ctx;

    OpenAiApi(ServerContext ctx) {
        this.ctx = ctx;
    }

    void models(Exchange ex) throws IOException {
        ObjectNode root = ctx.json().createObjectNode();
        root.put("object", "list");
        root.putArray("data").add(model());
        ex.sendJson(200, ctx.write(root));
    }

    void model(Exchange ex, String id) throws IOException {
        if (!id.equals(ctx.options().modelName())) throw ApiError.notFound("the model '" + id + "' does not exist");
        ex.sendJson(200, ctx.write(model()));
    }

    private ObjectNode model() {
        ObjectNode m = ctx.json().createObjectNode();
        m.put("id", ctx.options().modelName());
        m.put("object", "model");
        m.put("created", ctx.startedEpochSeconds());
        m.put("owned_by", "chatglm4j");
        return m;
    }

    void chatCompletions(Exchange ex) throws IOException {
        JsonNode body = ctx.parseObject(ex.readBody(ctx.options().maxBodyBytes()));
        ServerLimits limits = ctx.options().limits();
        RequestBudget.entries(body.get("messages"), "messages", limits);
        if (ctx.engine().chatTemplate() instanceof Glm3ChatFormat) {
            new Glm3Completions(ctx, this).chatCompletions(ex, body);
            return;
        }
        CompletionRequest req = CompletionRequest.parse(body, ctx.modelContext());
        Conversation conv = req.conversation();
        RequestBudget.chars(limits, conv.query(), conv.history(), req.config().stop());
        if (req.maxTokens() + 2 > req.contextLength()) {   // even an empty prompt is 2 tokens ([gMASK] <sop>)
            throw ApiError.badRequest("max_tokens", "context_length_exceeded", "the context is " + req.contextLength()
                    + " tokens and " + req.maxTokens() + " more are asked for the reply, which leaves no room for the messages");
        }
        int promptTokens = ctx.engine().promptLength(Message.fromRounds(conv.history()), Message.user(conv.query()));
        ex.tokensIn = promptTokens;
        checkContext(req, promptTokens);
        Admission.Ticket ticket;
        try {
            ticket = ctx.admission().enter();
        } catch (EngineBusyException e) {
            throw ApiError.busy(429, e.getMessage());
        }
        RequestControl control = new RequestControl(ctx.scheduler(), ctx.options().requestTimeout());
        try {
            if (req.stream()) stream(ex, req, ticket, control);
            else complete(ex, req, ticket, control);
        } finally {
            control.close();
        }
    }

    static void checkContext(CompletionRequest req, int promptTokens) {
        int room = Math.max(req.maxTokens(), 1);
        if (promptTokens + room > req.contextLength()) {
            throw ApiError.badRequest("messages", "context_length_exceeded", "the context is " + req.contextLength()
                    + " tokens but the messages take " + promptTokens + " tokens"
                    + (req.maxTokens() > 0 ? " and " + req.maxTokens() + " more are asked for the reply"
                    : ", which leaves no room for a reply") + "; send fewer or shorter messages");
        }
    }

    private void complete(Exchange ex, CompletionRequest req, Admission.Ticket ticket, RequestControl control)
            throws IOException {
        ChatResponse r;
        try (ticket) {
            if (!ticket.awaitSlot(control.cancellation, control.deadlineNanos)) throw ApiError.timeout();
            r = ctx.engine().streamChat(req.conversation().query(), req.conversation().history(), req.config(), null,
                    control.cancellation);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.internal("interrupted");
        } catch (EngineBusyException e) {
            throw ApiError.busy(429, e.getMessage());
        } catch (ChatGlmException e) {
            throw ApiError.badRequest(null, e.getMessage());
        }
        ex.tokensOut = r.completionTokens();
        ex.generation = r.generation();
        if (r.finishReason() == FinishReason.CANCELLED) throw ApiError.timeout();
        ObjectNode root = envelope("chat.completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        message.put("content", r.response());
        message.putNull("refusal");
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason(r.finishReason()));
        root.set("usage", usage(r));
        ex.sendJson(200, ctx.write(root));
    }

    private void stream(Exchange ex, CompletionRequest req, Admission.Ticket ticket, RequestControl control)
            throws IOException {
        ex.startStream(200, "text/event-stream; charset=utf-8");
        Generation gen;
        try {
            while (!ticket.awaitSlot(control.cancellation, Math.min(control.deadlineNanos, System.nanoTime() + PING_NANOS))) {
                if (control.cancellation.isCancelled() || System.nanoTime() - control.deadlineNanos >= 0) {
                    ticket.close();
                    streamError(ex, control, ApiError.timeout());
                    return;
                }
                if (!send(ex, control, PING)) {
                    ticket.close();
                    return;
                }
            }
            gen = Generation.start(ctx.engine(), req.conversation(), req.config(), control.cancellation, ticket::close);
        } catch (InterruptedException e) {
            ticket.close();
            Thread.currentThread().interrupt();
            throw ApiError.internal("interrupted");
        }
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        StringBuilder emitted = new StringBuilder();
        boolean roleSent = false;
        try {
            while (true) {
                Generation.Event e = gen.poll(PING_NANOS);
                if (e == null) {
                    if (!send(ex, control, PING)) return;
                    continue;
                }
                switch (e) {
                    case Generation.Delta d -> {
                        if (!roleSent) {
                            roleSent = true;
                            if (!send(ex, control, chunk(id, created, "assistant", "", null, null))) return;
                        }
                        emitted.append(d.text());
                        if (!send(ex, control, chunk(id, created, null, d.text(), null, null))) return;
                    }
                    case Generation.Done done -> {
                        ChatResponse r = done.response();
                        ex.tokensOut = r.completionTokens();
                        ex.generation = r.generation();
                        if (r.finishReason() == FinishReason.CANCELLED) {
                            if (!control.isClientGone()) streamError(ex, control, ApiError.timeout());
                            return;
                        }
                        if (!roleSent && !send(ex, control, chunk(id, created, "assistant", "", null, null))) return;
                        String rest = rest(r.response(), emitted);
                        if (!rest.isEmpty() && !send(ex, control, chunk(id, created, null, rest, null, null))) return;
                        if (!send(ex, control, chunk(id, created, null, null, finishReason(r.finishReason()), null))) return;
                        if (req.includeUsage() && !send(ex, control, chunk(id, created, null, null, null, usage(r)))) return;
                        ex.write(true, DONE);
                        return;
                    }
                    case Generation.Failed f -> {
                        RuntimeException x = f.error();
                        ApiError err = switch (x) {
                            case EngineBusyException b -> ApiError.busy(429, b.getMessage());
                            case ChatGlmException c -> ApiError.badRequest(null, c.getMessage());
                            default -> {
                                LOG.log(Level.SEVERE, "generation failed", x);
                                yield ApiError.internal("the generation failed");
                            }
                        };
                        streamError(ex, control, err);
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            control.clientGone();
            Thread.currentThread().interrupt();
            ex.complete(e);
        }
    }

    /**
     * The text still to send: the deltas are a prefix of the final reply by the listener's contract; should they
     * ever not be, the client's text would be wrong, so say so in the log rather than send a wrong correction.
     */
    static String rest(String response, CharSequence emitted) {
        if (response.length() >= emitted.length() && response.startsWith(emitted.toString())) {
            return response.substring(emitted.length());
        }
        LOG.warning("streamed deltas are not a prefix of the final reply");
        return "";
    }

    /** Writes one event; false (and the generation cancelled) when the client is gone. */
    boolean send(Exchange ex, RequestControl control, byte[] event) {
        try {
            ex.write(false, event);
            return true;
        } catch (IOException e) {
            control.clientGone();
            ex.status = 499;
            ex.note = "client went away";
            ex.complete(e);
            return false;
        }
    }

    boolean send(Exchange ex, RequestControl control, ObjectNode chunk) {
        return send(ex, control, ("data: " + ctx.write(chunk) + "\n\n").getBytes(StandardCharsets.UTF_8));
    }

    /** An error in a stream: a plain HTTP error while nothing was sent yet, else an error event and the end. */
    void streamError(Exchange ex, RequestControl control, ApiError err) {
        if (!ex.hasWritten()) throw err;
        ex.status = err.status;
        ex.note = err.getMessage();
        ObjectNode root = ctx.json().createObjectNode();
        root.set("error", OpenAiApi.errorBody(ctx, err));
        if (send(ex, control, root)) {
            try {
                ex.write(true, DONE);
            } catch (IOException e) {
                ex.complete(e);
            }
        }
    }

    ObjectNode envelope(String object) {
        ObjectNode root = ctx.json().createObjectNode();
        root.put("id", "chatcmpl-" + UUID.randomUUID().toString().replace("-", ""));
        root.put("object", object);
        root.put("created", System.currentTimeMillis() / 1000);
        root.put("model", ctx.options().modelName());
        return root;
    }

    ObjectNode chunk(String id, long created, String role, String content, String finish, ObjectNode usage) {
        ObjectNode root = ctx.json().createObjectNode();
        root.put("id", id);
        root.put("object", "chat.completion.chunk");
        root.put("created", created);
        root.put("model", ctx.options().modelName());
        ArrayNode choices = root.putArray("choices");
        if (usage != null) {
            root.set("usage", usage);
            return root;
        }
        ObjectNode choice = choices.addObject();
        choice.put("index", 0);
        ObjectNode delta = choice.putObject("delta");
        if (role != null) delta.put("role", role);
        if (content != null) delta.put("content", content);
        choice.putNull("logprobs");
        if (finish != null) choice.put("finish_reason", finish);
        else choice.putNull("finish_reason");
        return root;
    }

    ObjectNode usage(ChatResponse r) {
        return usage(r.promptTokens(), r.completionTokens());
    }

    ObjectNode usage(int prompt, int completion) {
        ObjectNode u = ctx.json().createObjectNode();
        u.put("prompt_tokens", prompt);
        u.put("completion_tokens", completion);
        u.put("total_tokens", prompt + completion);
        return u;
    }

    static String finishReason(FinishReason f) {
        return switch (f) {
            case EOS, STOP -> "stop";
            case LENGTH -> "length";
            case CANCELLED -> "cancelled";
        };
    }

    static ObjectNode errorBody(ServerContext ctx, ApiError e) {
        ObjectNode err = ctx.json().createObjectNode();
        err.put("message", e.getMessage());
        err.put("type", e.type);
        if (e.param != null) err.put("param", e.param);
        else err.putNull("param");
        if (e.code != null) err.put("code", e.code);
        else err.putNull("code");
        return err;
    }
}
