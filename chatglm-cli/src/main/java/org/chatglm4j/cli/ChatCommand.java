package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.ConversationResponse;
import org.chatglm4j.chat.Message;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.GenerationConfig;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** {@code chatglm chat}: a conversation, interactive on a terminal, scriptable through pipes (plain or JSON lines). */
@Command(name = "chat", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Chat with the model (interactive, piped lines, or JSON lines).",
        defaultValueProvider = OptionDefaults.Chat.class,
        description = {"Chats with the model, with the reference chat() defaults (sampling with top_p 0.7, "
                + "temperature 0.95, top_k 50; max_length 2048). Use --greedy for deterministic replies, "
                + "--greedy --num-beams K for beam search (each reply printed when the search ends).",
                "On a terminal: an interactive prompt with line editing and a persistent history "
                        + "($XDG_STATE_HOME/chatglm4j/history); 'clear' starts a new conversation, 'stop', 'exit' "
                        + "or Ctrl-D quits, Ctrl-C interrupts a reply.",
                "From a pipe: one query per line, one reply per query (then a newline), the conversation kept "
                        + "across lines.",
                "--json: each line is {\"query\": …} with optional per-round \"max_length\", \"max_new_tokens\", "
                        + "\"top_p\", \"temperature\", \"top_k\", \"do_sample\", \"seed\", \"repetition_penalty\", "
                        + "\"stop\", \"num_beams\", \"length_penalty\", \"early_stopping\", and \"history\" "
                        + "([[query, response], …], replaces the conversation); each gives "
                        + "{\"query\": …, \"response\": …, \"history\": [[q, r], …]} or {\"error\": …}.",
                "ChatGLM3 (--chat-format glm3): \"role\" (user or observation) is the role of the query, \"history\" "
                        + "is a list of {\"role\", \"content\", \"metadata\"?, \"tools\"?} messages, and \"response\" "
                        + "is the reply text or a tool call {\"name\", \"parameters\"} / {\"name\", \"content\"}."})
public final class ChatCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    LoadTuning tuning;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--stop", paramLabel = "STRING", description = "End the reply where this text appears "
            + "(repeatable).")
    List<String> stop = new ArrayList<>();

    @Option(names = "--ptuning", paramLabel = "DIR", description = "A P-Tuning v2 checkpoint folder (config.json "
            + "with pre_seq_len, and the prefix encoder weights) to load on top of the model.")
    Path ptuning;

    @Option(names = "--json", description = "Read JSON lines from standard input and write one JSON object per "
            + "round.")
    boolean json;

    private final CliContext ctx;

    public ChatCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        GenerationConfig config = sampling.toConfig(true, stop);
        Path folder = model.resolve(ctx);
        model.note(ctx, "loading " + folder);
        try (ChatGLM glm = ChatGLM.load(folder, tuning.apply(model.loadOptions(ptuning)))) {
            ChatSession session = new ChatSession(glm);
            if (json) return jsonLines(session, config);
            if (ctx.stdinTerminal()) return interactive(session, config);
            return plainLines(session, config);
        }
    }

    /** One query per line, each reply streamed and ended by a newline; failures go to stderr and the loop goes on. */
    int plainLines(ChatSession session, GenerationConfig config) {
        PrintStream out = ctx.out();
        InputLines lines = new InputLines(ctx.in());
        int failed = 0;
        for (InputLines.Line line; (line = lines.next()) != null; ) {
            try {
                if (line.tooLong()) {
                    throw new ChatGlmException("line longer than " + InputLines.DEFAULT_MAX_CHARS + " characters");
                }
                if (line.text().isBlank()) continue;
                ChatResponse r = session.reply(line.text(), config, (delta, response) -> {
                    out.print(delta);
                    out.flush();
                }, null);
                out.println();
                out.flush();
                note(r, config);
            } catch (ChatGlmException e) {
                failed++;
                out.println();   // still one (empty) reply for the query, so replies stay aligned with queries
                out.flush();
                ctx.err().println(ErrorReporter.PREFIX + "line " + line.number() + ": "
                        + ErrorReporter.oneLine(e.getMessage()));
                ctx.err().flush();
            }
            if (out.checkError()) throw new ChatGlmException("standard output was closed");
        }
        return failed > 0 ? 1 : 0;
    }

    int jsonLines(ChatSession session, GenerationConfig config) {
        Set<String> warned = new HashSet<>();
        boolean roles = session.usesMessages();
        int failed = JsonLineLoop.run(ctx, request -> {
            ChatRequest r = ChatRequest.parse(request, config, key -> {
                if (warned.add(key)) {
                    ctx.err().println("chatglm: warning: ignoring unknown key \"" + key + "\" (known: "
                            + String.join(", ", new java.util.TreeSet<>(ChatRequest.KEYS)) + ")");
                }
            }, roles);
            if (roles) return messageRound(session, r);
            List<Round> past = r.history() != null ? r.history() : session.history();
            ChatResponse resp = session.reply(r.query(), past, r.config(), null, null);
            note(resp, r.config());
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("query", r.query());
            o.put("response", resp.response());
            ArrayNode history = o.putArray("history");
            for (Round round : resp.history()) history.addArray().add(round.query()).add(round.response());
            return o;
        });
        return failed > 0 ? 1 : 0;
    }

    /**
     * A ChatGLM3 line: {@code chat(query, history, role)}; {@code response} is the reply text or the tool call
     * object, {@code history} the reference's list of message dicts.
     */
    private ObjectNode messageRound(ChatSession session, ChatRequest r) {
        List<Message> past = r.messages() != null ? r.messages() : session.messages();
        ConversationResponse resp = session.reply(past, new Message(r.role(), r.query(), null, null), r.config(),
                null, null);
        String dropped = ChatSession.droppedNote(resp.droppedMessages() == 0 ? 0
                : Math.max(1, resp.droppedMessages() / 2), r.config());
        if (dropped != null) ctx.err().println("chatglm: " + dropped);
        model.note(ctx, GenerateCommand.stats(resp.generation()));
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("query", r.query());
        o.set("response", resp.reply().toJson());
        ArrayNode history = o.putArray("history");
        for (Message m : resp.history()) history.add(m.toJson());
        return o;
    }

    private void note(ChatResponse r, GenerationConfig config) {
        String note = ChatSession.droppedNote(r, config);
        if (note != null) {
            ctx.err().println("chatglm: " + note);
            ctx.err().flush();
        }
        model.note(ctx, GenerateCommand.stats(r.generation()));
    }

    private int interactive(ChatSession session, GenerationConfig config) {
        try (Terminal terminal = TerminalBuilder.builder().system(true).encoding(StandardCharsets.UTF_8).build()) {
            LineReaderBuilder builder = LineReaderBuilder.builder().terminal(terminal).appName("chatglm")
                    .option(LineReader.Option.DISABLE_EVENT_EXPANSION, true)   // "!" is text, not history recall
                    .variable(LineReader.HISTORY_SIZE, 10_000);
            Path history = historyFile();
            if (history != null) builder.variable(LineReader.HISTORY_FILE, history);
            InterruptRouter router = new InterruptRouter(() -> ctx.exit().accept(InterruptRouter.INTERRUPTED_STATUS));
            return new InteractiveChat(session, config, terminal, builder.build(), ctx.err(), router).run();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the terminal: " + e.getMessage(), e);
        }
    }

    /** The history file, its folder created; null (with a warning) when that is impossible. */
    private Path historyFile() {
        Path file = StatePaths.historyFile(ctx.env(), ctx.home());
        try {
            Files.createDirectories(file.getParent());
            return file;
        } catch (IOException | RuntimeException e) {
            ctx.err().println("chatglm: warning: input history is not saved: cannot create " + file.getParent()
                    + " (" + ErrorReporter.oneLine(e.toString()) + ")");
            return null;
        }
    }
}
