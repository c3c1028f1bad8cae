package org.chatglm4j.cli;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.utils.InfoCmp;

import java.io.PrintStream;
import java.io.PrintWriter;

/**
 * The interactive chat on a terminal: a line editor with history, replies streamed as they are generated,
 * {@code clear} to start over, {@code stop}/{@code exit}/Ctrl-D to leave, Ctrl-C to cut a reply short (or, at the
 * prompt, to drop the line being typed, as a shell does).
 */
final class InteractiveChat {
    static final String WELCOME = "欢迎使用 ChatGLM-6B：直接输入内容即可对话，输入 clear 清空对话历史，输入 stop 退出。"
            + "\nWelcome to ChatGLM-6B: type a message to chat, 'clear' to start a new conversation, 'stop' or "
            + "Ctrl-D to quit; Ctrl-C interrupts a reply.";
    static final String USER_PROMPT = "用户：";
    static final String ASSISTANT_LABEL = "ChatGLM-6B：";

    private final ChatSession session;
    private final GenerationConfig config;
    private final Terminal terminal;
    private final LineReader reader;
    private final PrintStream err;
    private final InterruptRouter router;
    private final PrintWriter out;

    InteractiveChat(ChatSession session, GenerationConfig config, Terminal terminal, LineReader reader,
                    PrintStream err, InterruptRouter router) {
        this.session = session;
        this.config = config;
        this.terminal = terminal;
        this.reader = reader;
        this.err = err;
        this.router = router;
        this.out = terminal.writer();
    }

    /** Runs until the user leaves; returns the exit status. */
    int run() {
        Terminal.SignalHandler previous = terminal.handle(Terminal.Signal.INT, signal -> router.interrupt());
        try {
            out.println(WELCOME);
            out.flush();
            while (true) {
                String line;
                try {
                    out.println();
                    line = reader.readLine(USER_PROMPT);
                } catch (UserInterruptException e) {
                    continue;   // Ctrl-C while typing: forget the line, prompt again
                } catch (EndOfFileException e) {
                    out.println();
                    out.flush();
                    return 0;
                }
                switch (ChatInput.of(line)) {
                    case EMPTY -> {
                    }
                    case QUIT -> {
                        return 0;
                    }
                    case CLEAR -> clear();
                    case QUERY -> answer(line);
                }
            }
        } finally {
            terminal.handle(Terminal.Signal.INT, previous);
        }
    }

    private void clear() {
        session.clear();
        terminal.puts(InfoCmp.Capability.clear_screen);
        out.println(WELCOME);
        out.flush();
    }

    private void answer(String query) {
        out.print(ASSISTANT_LABEL);
        out.flush();
        Cancellation cancellation = router.begin();
        ChatResponse r;
        try {
            r = session.reply(query, config, (delta, response) -> {
                out.print(delta);
                out.flush();
            }, cancellation);
        } catch (ChatGlmException e) {
            out.println();
            out.flush();
            err.println(ErrorReporter.PREFIX + ErrorReporter.oneLine(e.getMessage()));
            err.flush();
            return;
        } finally {
            router.end();
        }
        out.println();
        if (r.finishReason() == FinishReason.CANCELLED) out.println("[interrupted]");
        out.flush();
        String note = ChatSession.droppedNote(r, config);
        if (note != null) {
            err.println("chatglm: " + note);
            err.flush();
        }
    }
}
