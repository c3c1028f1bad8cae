package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.chat.ChatEngine;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.ChatListener;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.testing.Fixtures;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.DumbTerminal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The interactive chat loop on a scripted (dumb) terminal: commands, streaming, Ctrl-C, persistent history. */
class InteractiveChatTest {

    /** A terminal session fed with {@code typed}; returns what the terminal showed. */
    record Session(String screen, String err, int status, List<Integer> exits) {
    }

    static Session run(ChatEngine engine, GenerationConfig config, String typed, Path historyFile) throws Exception {
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<Integer> exits = new ArrayList<>();
        int status;
        try (Terminal terminal = new DumbTerminal("test", "dumb",
                new ByteArrayInputStream(typed.getBytes(StandardCharsets.UTF_8)), screen, StandardCharsets.UTF_8)) {
            LineReaderBuilder b = LineReaderBuilder.builder().terminal(terminal);
            if (historyFile != null) b.variable(LineReader.HISTORY_FILE, historyFile);
            InterruptRouter router = new InterruptRouter(() -> exits.add(InterruptRouter.INTERRUPTED_STATUS));
            holder[0] = terminal;
            status = new InteractiveChat(new ChatSession(engine), config, terminal, b.build(),
                    new PrintStream(err, true, StandardCharsets.UTF_8), router).run();
        }
        return new Session(screen.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), status, exits);
    }

    /** The terminal of the running session, for engines that press Ctrl-C. */
    static final Terminal[] holder = new Terminal[1];

    @Test
    void chatsWithTheModelAndClearStartsANewConversation() throws Exception {
        JsonNode round = Fixtures.json("model_a/generate.json").get("chats").get(0).get("rounds").get(0);
        String q = round.get("query").asText();
        String reply = round.get("response").asText();
        try (ChatGLM glm = ChatGLM.load(Fixtures.path("model_a/checkpoint"), LoadOptions.defaults().withThreads(2))) {
            RecordingEngine engine = new RecordingEngine(glm);
            Session s = run(engine, GenerationConfig.greedy(round.get("max_length").asInt()),
                    q + "\n   \nclear\n" + q + "\nstop\nnever read\n", null);
            assertThat(s.status()).isZero();
            assertThat(s.screen()).startsWith(InteractiveChat.WELCOME);
            // the same first-round reply twice: clear emptied the history in between
            assertThat(s.screen()).contains(InteractiveChat.ASSISTANT_LABEL + reply + "\n");
            assertThat(s.screen().split(java.util.regex.Pattern.quote(reply), -1)).hasSize(3);
            assertThat(s.screen().split(java.util.regex.Pattern.quote(InteractiveChat.WELCOME), -1)).hasSize(3);
            assertThat(engine.historySizes).containsExactly(0, 0);
            assertThat(engine.queries).containsExactly(q, q);
            assertThat(s.exits()).isEmpty();
        }
    }

    @Test
    void endOfInputQuits() throws Exception {
        RecordingEngine engine = new RecordingEngine(null);
        Session s = run(engine, GenerationConfig.greedy(20), "", null);
        assertThat(s.status()).isZero();
        assertThat(engine.queries).isEmpty();
        Session exit = run(engine, GenerationConfig.greedy(20), "exit\nhello\n", null);
        assertThat(exit.status()).isZero();
        assertThat(engine.queries).isEmpty();
    }

    /**
     * On a terminal, Ctrl-C while typing makes JLine's readLine throw UserInterruptException (its signal handler
     * interrupts the reading thread); the loop must drop the line and prompt again, not quit.
     */
    @Test
    void ctrlCAtThePromptDropsTheLineBeingTyped() throws Exception {
        RecordingEngine engine = new RecordingEngine(null);
        java.util.Deque<Object> script = new java.util.ArrayDeque<>(List.of(
                new org.jline.reader.UserInterruptException("half a line"), "hello",
                new org.jline.reader.UserInterruptException(""), new org.jline.reader.EndOfFileException()));
        LineReader reader = (LineReader) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[]{LineReader.class}, (proxy, method, args) -> {
                    if (!method.getName().equals("readLine")) throw new UnsupportedOperationException(method.getName());
                    Object next = script.removeFirst();
                    if (next instanceof RuntimeException e) throw e;
                    return next;
                });
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        List<Integer> exits = new ArrayList<>();
        try (Terminal terminal = new DumbTerminal("test", "dumb", new ByteArrayInputStream(new byte[0]), screen,
                StandardCharsets.UTF_8)) {
            int status = new InteractiveChat(new ChatSession(engine), GenerationConfig.greedy(20), terminal, reader,
                    new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                    new InterruptRouter(() -> exits.add(130))).run();
            assertThat(status).isZero();
        }
        assertThat(script).isEmpty();
        assertThat(engine.queries).containsExactly("hello");
        assertThat(exits).isEmpty();
    }

    @Test
    void ctrlCDuringAReplyStopsTheReplyNotTheProgram() throws Exception {
        RecordingEngine engine = new RecordingEngine(null);
        engine.pressCtrlCAfter = 3;
        Session s = run(engine, GenerationConfig.greedy(20), "tell me a long story\nhello\n", null);
        assertThat(s.status()).isZero();
        assertThat(s.exits()).isEmpty();
        assertThat(engine.queries).containsExactly("tell me a long story", "hello");
        assertThat(engine.cancelledAfter).isEqualTo(3);
        assertThat(s.screen()).contains(InteractiveChat.ASSISTANT_LABEL + "xxx\n[interrupted]\n");
        // the interrupted reply stays in the conversation, as in the reference cli_demo
        assertThat(engine.historySizes).containsExactly(0, 1);
    }

    @Test
    void ctrlCOutsideAReplyEndsTheProgram() {
        List<Integer> exits = new ArrayList<>();
        InterruptRouter router = new InterruptRouter(() -> exits.add(130));
        Cancellation c = router.begin();
        router.interrupt();
        assertThat(c.isCancelled()).isTrue();
        assertThat(exits).isEmpty();
        router.end();
        router.interrupt();
        assertThat(exits).containsExactly(130);
    }

    @Test
    void errorsOfAReplyAreOneLineAndTheChatGoesOn() throws Exception {
        RecordingEngine engine = new RecordingEngine(null);
        engine.failOn = "too long";
        Session s = run(engine, GenerationConfig.greedy(20), "too long\nhello\n", null);
        assertThat(s.status()).isZero();
        assertThat(s.err()).isEqualTo("chatglm: error: the query is too long\n");
        assertThat(engine.queries).containsExactly("too long", "hello");
    }

    @Test
    void inputHistoryPersistsInTheHistoryFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("history");
        run(new RecordingEngine(null), GenerationConfig.greedy(20), "first question\nsecond question\n", file);
        assertThat(Files.readString(file)).contains("first question", "second question");
    }

    @Test
    void commandsAreRecognisedAfterStripping() {
        assertThat(ChatInput.of("  clear ")).isEqualTo(ChatInput.CLEAR);
        assertThat(ChatInput.of("stop")).isEqualTo(ChatInput.QUIT);
        assertThat(ChatInput.of("exit\t")).isEqualTo(ChatInput.QUIT);
        assertThat(ChatInput.of(" ")).isEqualTo(ChatInput.EMPTY);
        assertThat(ChatInput.of("clear the table")).isEqualTo(ChatInput.QUERY);
        assertThat(ChatInput.of("Stop")).isEqualTo(ChatInput.QUERY);
    }

    @Test
    void historyFileFollowsXdgStateHome() {
        Path home = Path.of("/home/u");
        assertThat(StatePaths.historyFile(java.util.Map.of(), home))
                .isEqualTo(Path.of("/home/u/.local/state/chatglm4j/history"));
        assertThat(StatePaths.historyFile(java.util.Map.of("XDG_STATE_HOME", "/var/state"), home))
                .isEqualTo(Path.of("/var/state/chatglm4j/history"));
        assertThat(StatePaths.historyFile(java.util.Map.of("XDG_STATE_HOME", "relative"), home))
                .isEqualTo(Path.of("/home/u/.local/state/chatglm4j/history"));
    }

    /** Delegates to a real model when given one; otherwise streams "x" until cancelled (at most 50 times). */
    static final class RecordingEngine implements ChatEngine {
        final ChatEngine delegate;
        final List<String> queries = new ArrayList<>();
        final List<Integer> historySizes = new ArrayList<>();
        int pressCtrlCAfter = -1;
        int cancelledAfter = -1;
        String failOn;

        RecordingEngine(ChatEngine delegate) {
            this.delegate = delegate;
        }

        @Override
        public ChatResponse streamChat(String query, List<Round> history, GenerationConfig config,
                                       ChatListener listener, Cancellation cancellation) {
            queries.add(query);
            historySizes.add(history.size());
            if (query.equals(failOn)) throw new org.chatglm4j.ChatGlmException("the query is too long");
            if (delegate != null) return delegate.streamChat(query, history, config, listener, cancellation);
            StringBuilder text = new StringBuilder();
            AtomicInteger n = new AtomicInteger();
            FinishReason reason = FinishReason.LENGTH;
            while (n.get() < 50) {
                if (cancellation != null && cancellation.isCancelled()) {
                    cancelledAfter = n.get();
                    reason = FinishReason.CANCELLED;
                    break;
                }
                text.append('x');
                listener.onUpdate("x", text.toString());
                if (n.incrementAndGet() == pressCtrlCAfter) holder[0].raise(Terminal.Signal.INT);
                if (pressCtrlCAfter < 0 && n.get() == 5) break;
            }
            List<Round> h = new ArrayList<>(history);
            h.add(new Round(query, text.toString()));
            return new ChatResponse(text.toString(), h, reason, 1, n.get(), 0,
                    new GenerationResult(new int[1], new int[n.get()], reason, 0, 0));
        }

        @Override
        public ChatGlmTokenizer tokenizer() {
            return delegate == null ? null : delegate.tokenizer();
        }

        @Override
        public ChatGlmConfig config() {
            return delegate == null ? null : delegate.config();
        }
    }
}
