package org.chatglm4j.chat;

import org.chatglm4j.generate.GenerationConfig;

import java.util.List;

/**
 * ChatGLM2-6B's chat() (also CodeGeeX2-6B): {@code [Round i]\n\n问：q\n\n答：r\n\n} per past round, counted from
 * 1, then {@code [Round n]\n\n问：query\n\n答：} (also without history), encoded by {@code tokenizer([prompt])}
 * ({@code [gMASK] sop} + the ids of that text). process_response only strips and fills in {@code [[训练时间]]}; stream_chat
 * yields a step only when the text is non-empty and does not end in an incomplete character (U+FFFD).
 */
public final class Glm2ChatFormat implements ChatFormat {
    /** The one instance: the format is stateless and thread-safe. */
    public static final Glm2ChatFormat INSTANCE = new Glm2ChatFormat();

    private Glm2ChatFormat() {
    }

    @Override
    public String name() {
        return "glm2";
    }

    /** {@code tokenizer.build_prompt(query, history)}. */
    public static String buildPrompt(String query, List<Round> history) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < history.size(); i++) {
            Round r = history.get(i);
            sb.append("[Round ").append(i + 1).append("]\n\n问：").append(r.query()).append("\n\n答：")
                    .append(r.response()).append("\n\n");
        }
        return sb.append("[Round ").append(history.size() + 1).append("]\n\n问：").append(query).append("\n\n答：").toString();
    }

    @Override
    public PreparedPrompt prepare(PromptTokenizer tokenizer, List<Message> history, Message turn, GenerationConfig config) {
        List<Round> rounds = Rounds.fromMessages(history, turn, "ChatGLM2-6B");
        int[] estimate = new int[rounds.size()];
        for (int i = 0; i < estimate.length; i++) {
            Round r = rounds.get(i);
            estimate[i] = tokenizer.encode("[Round " + (i + 1) + "]\n\n问：" + r.query() + "\n\n答：" + r.response()).length;
        }
        PreparedPrompt p = PreparedPrompt.fit(estimate,
                d -> tokenizer.encodeForModel(buildPrompt(turn.content(), rounds.subList(d, rounds.size()))), config);
        return new PreparedPrompt(p.ids(), 2 * p.dropped());
    }

    @Override
    public int[] continuation(PromptTokenizer tokenizer, List<Message> history, Message turn) {
        List<Round> rounds = Rounds.fromMessages(history, turn, "ChatGLM2-6B");
        if (rounds.isEmpty()) return tokenizer.encodeForModel(buildPrompt(turn.content(), rounds));
        String text = "\n\n[Round " + (rounds.size() + 1) + "]\n\n问：" + turn.content() + "\n\n答：";
        int[] ids = tokenizer.encodeForModel(text);   // [gMASK] sop + encode(text, add_special_tokens=False)
        return java.util.Arrays.copyOfRange(ids, Math.min(3, ids.length), ids.length);   // and without its first id
    }

    /** ChatGLM2-6B's process_response. */
    public static String processResponse(String response) {
        return ResponsePostprocess.pythonStrip(response).replace("[[训练时间]]", "2023年");
    }

    @Override
    public Reply postprocess(String decoded, List<Message> history) {
        String response = processResponse(decoded);
        return new Reply(AssistantReply.text(response), List.of(Message.assistant(null, response)));
    }
}
