package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.GenerationConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * ChatGLM3-6B's chat(): {@code build_chat_input} writes every message as {@code <|role|>} + ids of
 * {@code metadata + "\n"} + ids of the content (a system message with tools gets them appended as
 * {@code "\n" + json.dumps(tools, indent=4, ensure_ascii=False)}), then the new message and {@code <|assistant|>},
 * all after {@code [gMASK] sop}. Generation stops at eos, {@code <|user|>} or {@code <|observation|>}; the last
 * generated id is never decoded; process_response splits the text at {@code <|assistant|>} and reads a tool call.
 */
public final class Glm3ChatFormat implements ChatFormat {
    /** The one instance: the format is stateless and thread-safe. */
    public static final Glm3ChatFormat INSTANCE = new Glm3ChatFormat();
    private static final Pattern ASSISTANT = Pattern.compile(Pattern.quote("<|assistant|>"));

    private Glm3ChatFormat() {
    }

    @Override
    public String name() {
        return "glm3";
    }

    /** {@code build_single_message(role, metadata, content)}, with the tools of a system message. */
    public static int[] message(PromptTokenizer tokenizer, Message m) {
        String content = m.content();
        if (m.role() == Role.SYSTEM && m.tools() != null) content = content + "\n" + PythonJson.dumpsIndent4(m.tools());
        String metadata = m.metadata() == null ? "" : m.metadata();
        return PreparedPrompt.concat(new int[]{tokenizer.specialId(m.role().token())}, tokenizer.encode(metadata + "\n"),
                tokenizer.encode(content));
    }

    /**
     * A leading system message is always kept; other messages are left out oldest first, a whole exchange at a
     * time (from one user message to the next), so that what remains starts where the user spoke.
     */
    @Override
    public PreparedPrompt prepare(PromptTokenizer tokenizer, List<Message> history, Message turn, GenerationConfig config) {
        int[] prefix = {tokenizer.specialId("[gMASK]"), tokenizer.specialId("sop")};
        int[] end = {tokenizer.specialId(Role.ASSISTANT.token())};
        int fixed = !history.isEmpty() && history.getFirst().role() == Role.SYSTEM ? 1 : 0;
        int[][] ids = new int[history.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = message(tokenizer, history.get(i));
        int[] turnIds = message(tokenizer, turn);
        List<Integer> starts = new ArrayList<>();     // where each droppable exchange starts
        for (int i = fixed; i < ids.length; i++) {
            if (i == fixed || history.get(i).role() == Role.USER) starts.add(i);
        }
        int[] estimate = new int[starts.size()];      // exact: messages are encoded one by one
        for (int u = 0; u < estimate.length; u++) {
            int to = u + 1 < starts.size() ? starts.get(u + 1) : ids.length;
            for (int i = starts.get(u); i < to; i++) estimate[u] += ids[i].length;
        }
        PreparedPrompt p = PreparedPrompt.fit(estimate, d -> {
            int from = d < starts.size() ? starts.get(d) : ids.length;
            List<int[]> parts = new ArrayList<>();
            parts.add(prefix);
            if (fixed == 1) parts.add(ids[0]);
            for (int i = from; i < ids.length; i++) parts.add(ids[i]);
            parts.add(turnIds);
            parts.add(end);
            return PreparedPrompt.concat(parts.toArray(int[][]::new));
        }, config);
        int dropped = p.dropped() == 0 ? 0 : (p.dropped() < starts.size() ? starts.get(p.dropped()) : ids.length) - fixed;
        return new PreparedPrompt(p.ids(), dropped);
    }

    @Override
    public int[] continuation(PromptTokenizer tokenizer, List<Message> history, Message turn) {
        return prepare(tokenizer, List.of(), turn, GenerationConfig.greedy(Integer.MAX_VALUE)).ids();
    }

    @Override
    public GenerationConfig forChat(GenerationConfig config, PromptTokenizer tokenizer) {
        if (!config.eosTokenIds().isEmpty()) return config;
        return config.withEosTokenIds(List.of(tokenizer.eosId(), tokenizer.specialId(Role.USER.token()),
                tokenizer.specialId(Role.OBSERVATION.token())));
    }

    @Override
    public int droppedTail() {
        return 1;
    }

    /**
     * ChatGLM3's {@code process_response(output, history)}: every segment between {@code <|assistant|>} marks adds
     * an assistant message (metadata = its first line when it has one); the last segment is the reply: its stripped
     * text when the metadata is blank, else a tool call {@code {"name","parameters"}} when the conversation's first
     * message is a system message with tools, else {@code {"name","content"}}.
     */
    @Override
    public Reply postprocess(String output, List<Message> history) {
        List<Message> added = new ArrayList<>();
        AssistantReply reply = AssistantReply.text("");
        for (String segment : ASSISTANT.split(output, -1)) {
            int nl = segment.indexOf('\n');
            String metadata = nl >= 0 ? segment.substring(0, nl) : "";
            String content = nl >= 0 ? segment.substring(nl + 1) : segment;
            if (ResponsePostprocess.pythonStrip(metadata).isEmpty()) {
                content = ResponsePostprocess.pythonStrip(content);
                added.add(Message.assistant(metadata, content));
                reply = AssistantReply.text(content.replace("[[训练时间]]", "2023年"));
                continue;
            }
            added.add(Message.assistant(metadata, content));
            String name = ResponsePostprocess.pythonStrip(metadata);
            Message first = history.isEmpty() ? added.getFirst() : history.getFirst();
            if (first.role() == Role.SYSTEM && first.tools() != null) {
                String[] lines = content.split("\n", -1);
                String code = lines.length <= 2 ? "" : String.join("\n", java.util.Arrays.asList(lines).subList(1, lines.length - 1));
                try {
                    reply = new AssistantReply(content, name, ToolCallExpression.parse(code));
                } catch (ChatGlmException e) {
                    List<Message> all = new ArrayList<>(history);
                    all.addAll(added);
                    throw new ToolCallException(e.getMessage(), new AssistantReply(content, name, null), all);
                }
            } else {
                reply = new AssistantReply(content, name, null);
            }
        }
        return new Reply(reply, List.copyOf(added));
    }
}
