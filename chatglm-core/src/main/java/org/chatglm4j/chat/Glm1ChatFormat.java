package org.chatglm4j.chat;

import org.chatglm4j.generate.GenerationConfig;

import java.util.List;

/**
 * ChatGLM-6B's chat(): the bare query without history, else {@code [Round i]\n问：q\n答：r\n} per past round from
 * 0 (see {@link ChatPrompt}), through the tokenizer; {@link ResponsePostprocess} (punctuation made full-width
 * next to CJK); stream_chat yields after every token.
 */
public final class Glm1ChatFormat implements ChatFormat {
    /** The one instance: the format is stateless and thread-safe. */
    public static final Glm1ChatFormat INSTANCE = new Glm1ChatFormat();

    private Glm1ChatFormat() {
    }

    @Override
    public String name() {
        return "chatglm";
    }

    @Override
    public PreparedPrompt prepare(PromptTokenizer tokenizer, List<Message> history, Message turn, GenerationConfig config) {
        List<Round> rounds = Rounds.fromMessages(history, turn, "ChatGLM-6B");
        String query = turn.content();
        int[] estimate = new int[rounds.size()];
        for (int i = 0; i < estimate.length; i++) {
            Round r = rounds.get(i);
            estimate[i] = tokenizer.encode("[Round " + i + "]\n问：" + r.query() + "\n答：" + r.response() + "\n").length;
        }
        PreparedPrompt p = PreparedPrompt.fit(estimate,
                d -> tokenizer.encodeForModel(ChatPrompt.build(query, rounds.subList(d, rounds.size()))), config);
        return new PreparedPrompt(p.ids(), 2 * p.dropped());
    }

    @Override
    public boolean yields(String decoded) {
        return true;
    }

    @Override
    public Reply postprocess(String decoded, List<Message> history) {
        String response = ResponsePostprocess.apply(decoded);
        return new Reply(AssistantReply.text(response), List.of(Message.assistant(null, response)));
    }
}
