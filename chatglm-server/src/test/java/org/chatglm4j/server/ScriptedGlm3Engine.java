package org.chatglm4j.server;

import org.chatglm4j.chat.AssistantReply;
import org.chatglm4j.chat.ChatEngine;
import org.chatglm4j.chat.ChatFormat;
import org.chatglm4j.chat.ChatListener;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.ConversationResponse;
import org.chatglm4j.chat.Glm3ChatFormat;
import org.chatglm4j.chat.Message;
import org.chatglm4j.chat.PreparedPrompt;
import org.chatglm4j.chat.PromptTokenizer;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.testing.Fixtures;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.chatglm4j.tokenizer.Glm2Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BiFunction;

/**
 * A ChatGLM3 engine whose "model" writes a scripted text: a test double at the generation level only. The prompt
 * is built by the real {@link Glm3ChatFormat} with the real ChatGLM3 fixture tokenizer, the scripted text is
 * encoded to ids, followed by the stop id {@code <|observation|>} (after a tool call) or eos, and everything after
 * that is the real path: decoding ids[:-1], the real process_response (tool-call parsing included), streaming the
 * text of each step. So tests through it check the server's mapping both ways, not the model.
 */
final class ScriptedGlm3Engine implements ChatEngine {
    record Seen(List<Message> history, Message message, int[] promptIds) {
    }

    private final Glm2Tokenizer tokenizer = Glm2Tokenizer.load(Fixtures.path("glm3/tokenizer"), true);
    private final PromptTokenizer prompts = PromptTokenizer.of(tokenizer);
    private final BiFunction<List<Message>, Message, String> script;
    final ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();

    ScriptedGlm3Engine(BiFunction<List<Message>, Message, String> script) {
        this.script = script;
    }

    @Override
    public ConversationResponse streamChat(List<Message> history, Message message, GenerationConfig config,
                                           ChatListener listener, Cancellation cancellation) {
        ChatFormat format = Glm3ChatFormat.INSTANCE;
        PreparedPrompt prompt = format.prepare(prompts, history, message, config);
        seen.add(new Seen(List.copyOf(history), message, prompt.ids()));
        String text = script.apply(history, message);
        int[] body = tokenizer.encodeSp(text);
        int stop = text.contains("tool_call(") ? tokenizer.specialId("<|observation|>") : tokenizer.eosId();
        int[] generated = Arrays.copyOf(body, body.length + 1);
        generated[body.length] = stop;
        List<Message> withTurn = new ArrayList<>(history);
        withTurn.add(message);
        String emitted = "";
        for (int n = 1; n <= generated.length && listener != null; n++) {
            String decoded = prompts.decode(Arrays.copyOf(generated, n - 1));
            if (!format.yields(decoded)) continue;
            AssistantReply r;
            try {
                r = format.postprocess(decoded, withTurn).reply();
            } catch (RuntimeException e) {
                continue;   // a tool call being written
            }
            if (r.isText() && r.content().startsWith(emitted)) {
                listener.onUpdate(r.content().substring(emitted.length()), r.content());
                emitted = r.content();
            }
        }
        ChatFormat.Reply reply = format.postprocess(prompts.decode(body), withTurn);
        withTurn.addAll(reply.added());
        GenerationResult g = new GenerationResult(prompt.ids(), generated, FinishReason.EOS, 0, 0);
        return new ConversationResponse(reply.reply(), List.copyOf(withTurn), FinishReason.EOS, prompt.ids().length,
                generated.length, prompt.dropped(), g);
    }

    @Override
    public ChatResponse streamChat(String query, List<Round> history, GenerationConfig config, ChatListener listener,
                                   Cancellation cancellation) {
        ConversationResponse r = streamChat(Message.fromRounds(history), Message.user(query), config, listener, cancellation);
        List<Round> rounds = new ArrayList<>(history);
        rounds.add(new Round(query, r.reply().content()));
        return new ChatResponse(r.reply().content(), rounds, r.finishReason(), r.promptTokens(), r.completionTokens(),
                0, r.generation());
    }

    @Override
    public ChatFormat chatTemplate() {
        return Glm3ChatFormat.INSTANCE;
    }

    @Override
    public PromptTokenizer promptTokenizer() {
        return prompts;
    }

    @Override
    public ChatGlmTokenizer tokenizer() {
        throw new UnsupportedOperationException("a ChatGLM3 tokenizer is no ChatGlmTokenizer");
    }

    @Override
    public ChatGlmConfig config() {
        return Fixture.model().config();   // only its max_sequence_length is read by the server
    }

    Seen last() {
        Seen s = null;
        for (Seen x : seen) s = x;
        return s;
    }
}
