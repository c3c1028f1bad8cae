package org.chatglm4j.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.AssistantReply;
import org.chatglm4j.chat.ConversationResponse;
import org.chatglm4j.chat.EngineBusyException;
import org.chatglm4j.chat.ToolCallException;
import org.chatglm4j.generate.FinishReason;

import java.io.IOException;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code POST /v1/chat/completions} for a ChatGLM3 model: the messages with their roles, and tool calling (see
 * {@link ToolCalling} for the mapping). A tool call comes back as {@code tool_calls} with
 * {@code finish_reason: "tool_calls"}, in one piece also when streaming (ChatGLM3 writes the tool name first, so
 * while the reply could still be a tool name no text is streamed).
 */
final class Glm3Completions {
    private static final Logger LOG = Logger.getLogger(Glm3Completions.class.getName());
    private final ServerContext ctx;
    private final OpenAiApi api;

    Glm3Completions(ServerContext ctx, OpenAiApi api) {
        this.ctx = ctx;
        this.api = api;
    }

    /** A reply as the client sees it: a tool call, or text (also when the model's tool call was unreadable). */
    record Answer(AssistantReply toolCall, String text, FinishReason finish, int promptTokens, int completionTokens) {
        static Answer of(ConversationResponse r) {
            AssistantReply reply = r.reply();
            return new Answer(reply.isToolCall() ? reply : null, reply.isToolCall() ? null : ToolCalling.text(reply),
                    r.finishReason(), r.promptTokens(), r.completionTokens());
        }

        String finishReason() {
            return toolCall != null && finish != FinishReason.LENGTH ? "tool_calls" : OpenAiApi.finishReason(finish);
        }
    }

    void chatCompletions(Exchange ex, JsonNode body) throws IOException {
        CompletionRequest req = CompletionRequest.parse(body, ctx.modelContext(), true);
        ToolCalling.Turn turn = ToolCalling.fromRequest(body);
        RequestBudget.chars(ctx.options().limits(), turn.history(), turn.message(), req.config().stop());
        int promptTokens;
        try {
            promptTokens = ctx.engine().promptLength(turn.history(), turn.message());
        } catch (ChatGlmException e) {
            throw ApiError.badRequest("messages", e.getMessage());
        }
        ex.tokensIn = promptTokens;
        OpenAiApi.checkContext(req, promptTokens);
        Admission.Ticket ticket;
        try {
            ticket = ctx.admission().enter();
        } catch (EngineBusyException e) {
            throw ApiError.busy(429, e.getMessage());
        }
        RequestControl control = new RequestControl(ctx.scheduler(), ctx.options().requestTimeout());
        try {
            if (req.stream()) stream(ex, req, turn, ticket, control);
            else complete(ex, req, turn, ticket, control);
        } finally {
            control.close();
        }
    }

    private Answer run(CompletionRequest req, ToolCalling.Turn turn, org.chatglm4j.chat.ChatListener listener,
                       org.chatglm4j.generate.Cancellation cancellation) {
        try {
            return Answer.of(ctx.engine().streamChat(turn.history(), turn.message(), req.config(), listener, cancellation));
        } catch (ToolCallException e) {
            // as ChatGLM3's API demo: a tool call that cannot be read is passed on as text
            return new Answer(null, ToolCalling.text(e.fallback()), FinishReason.EOS, 0, 0);
        }
    }

    private void complete(Exchange ex, CompletionRequest req, ToolCalling.Turn turn, Admission.Ticket ticket,
                          RequestControl control) throws IOException {
        Answer a;
        try (ticket) {
            if (!ticket.awaitSlot(control.cancellation, control.deadlineNanos)) throw ApiError.timeout();
            a = run(req, turn, null, control.cancellation);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiError.internal("interrupted");
        } catch (EngineBusyException e) {
            throw ApiError.busy(429, e.getMessage());
        } catch (ChatGlmException e) {
            throw ApiError.badRequest(null, e.getMessage());
        }
        ex.tokensOut = a.completionTokens();
        if (a.finish() == FinishReason.CANCELLED) throw ApiError.timeout();
        ObjectNode root = api.envelope("chat.completion");
        ObjectNode choice = root.putArray("choices").addObject();
        choice.put("index", 0);
        ObjectNode message = choice.putObject("message");
        message.put("role", "assistant");
        if (a.toolCall() != null) {
            message.putNull("content");
            message.set("tool_calls", ToolCalling.toolCalls(a.toolCall(), false));
        } else {
            message.put("content", a.text());
        }
        message.putNull("refusal");
        choice.putNull("logprobs");
        choice.put("finish_reason", a.finishReason());
        root.set("usage", api.usage(a.promptTokens(), a.completionTokens()));
        ex.sendJson(200, ctx.write(root));
    }

    private sealed interface Event permits Delta, Done, Failed {
    }

    private record Delta(String text) implements Event {
    }

    private record Done(Answer answer) implements Event {
    }

    private record Failed(RuntimeException error) implements Event {
    }

    /**
     * Text deltas for the client, held back while the reply so far could still be the name line of a tool call
     * (a prefix of an offered tool's name): once the model writes the newline after it, the reply is a tool call
     * and its name must not have been sent as text.
     */
    private static final class HoldBack {
        private final java.util.List<String> names;
        private final StringBuilder held = new StringBuilder();
        private boolean open;

        HoldBack(java.util.List<String> names) {
            this.names = names;
            this.open = names.isEmpty();
        }

        String offer(String delta) {
            if (open) return delta;
            held.append(delta);
            String s = held.toString();
            for (String n : names) if (n.startsWith(s)) return "";
            open = true;
            return s;
        }
    }

    private void stream(Exchange ex, CompletionRequest req, ToolCalling.Turn turn, Admission.Ticket ticket,
                        RequestControl control) throws IOException {
        ex.startStream(200, "text/event-stream; charset=utf-8");
        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        try {
            while (!ticket.awaitSlot(control.cancellation,
                    Math.min(control.deadlineNanos, System.nanoTime() + OpenAiApi.PING_NANOS))) {
                if (control.cancellation.isCancelled() || System.nanoTime() - control.deadlineNanos >= 0) {
                    ticket.close();
                    api.streamError(ex, control, ApiError.timeout());
                    return;
                }
                if (!api.send(ex, control, PING)) {
                    ticket.close();
                    return;
                }
            }
        } catch (InterruptedException e) {
            ticket.close();
            Thread.currentThread().interrupt();
            throw ApiError.internal("interrupted");
        }
        HoldBack hold = new HoldBack(turn.toolNames());
        Thread.ofVirtual().name("chatglm-generate").start(() -> {
            try {
                Answer a = run(req, turn, (delta, full) -> {
                    String out = delta.isEmpty() ? "" : hold.offer(delta);
                    if (!out.isEmpty()) events.add(new Delta(out));
                }, control.cancellation);
                events.add(new Done(a));
            } catch (RuntimeException e) {
                events.add(new Failed(e));
            } catch (Error e) {
                events.add(new Failed(new IllegalStateException("generation failed: " + e, e)));
            } finally {
                ticket.close();
            }
        });
        String id = "chatcmpl-" + UUID.randomUUID().toString().replace("-", "");
        long created = System.currentTimeMillis() / 1000;
        StringBuilder emitted = new StringBuilder();
        boolean roleSent = false;
        try {
            while (true) {
                Event e = events.poll(OpenAiApi.PING_NANOS, TimeUnit.NANOSECONDS);
                if (e == null) {
                    if (!api.send(ex, control, PING)) return;
                    continue;
                }
                if (!roleSent && !(e instanceof Failed)) {
                    roleSent = true;
                    if (!api.send(ex, control, api.chunk(id, created, "assistant", "", null, null))) return;
                }
                switch (e) {
                    case Delta d -> {
                        emitted.append(d.text());
                        if (!api.send(ex, control, api.chunk(id, created, null, d.text(), null, null))) return;
                    }
                    case Done done -> {
                        Answer a = done.answer();
                        ex.tokensOut = a.completionTokens();
                        if (a.finish() == FinishReason.CANCELLED) {
                            if (!control.isClientGone()) api.streamError(ex, control, ApiError.timeout());
                            return;
                        }
                        if (a.toolCall() != null) {
                            ObjectNode c = api.chunk(id, created, null, null, null, null);
                            ((ObjectNode) c.get("choices").get(0).get("delta"))
                                    .set("tool_calls", ToolCalling.toolCalls(a.toolCall(), true));
                            if (!api.send(ex, control, c)) return;
                        } else {
                            String rest = OpenAiApi.rest(a.text(), emitted);
                            if (!rest.isEmpty() && !api.send(ex, control, api.chunk(id, created, null, rest, null, null))) return;
                        }
                        if (!api.send(ex, control, api.chunk(id, created, null, null, a.finishReason(), null))) return;
                        if (req.includeUsage()
                                && !api.send(ex, control, api.chunk(id, created, null, null, null,
                                api.usage(a.promptTokens(), a.completionTokens())))) {
                            return;
                        }
                        ex.write(true, DONE);
                        return;
                    }
                    case Failed f -> {
                        RuntimeException x = f.error();
                        ApiError err = switch (x) {
                            case EngineBusyException b -> ApiError.busy(429, b.getMessage());
                            case ChatGlmException c -> ApiError.badRequest(null, c.getMessage());
                            default -> {
                                LOG.log(Level.SEVERE, "generation failed", x);
                                yield ApiError.internal("the generation failed");
                            }
                        };
                        api.streamError(ex, control, err);
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

    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    private static final byte[] PING = ": ping\n\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
}
