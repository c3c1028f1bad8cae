package org.chatglm4j.chat;

import java.util.List;

/**
 * The prompt text of ChatGLM-6B's {@code chat()}: the bare query when there is no history, otherwise every past
 * round as {@code "[Round i]\n问：q\n答：r\n"} followed by {@code "[Round n]\n问：query\n答："}.
 */
public final class ChatPrompt {
    private ChatPrompt() {
    }

    /** The prompt text for {@code query} after {@code history} (see above). */
    public static String build(String query, List<Round> history) {
        if (history.isEmpty()) return query;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < history.size(); i++) appendRound(sb, i, history.get(i));
        appendQuery(sb, history.size(), query);
        return sb.toString();
    }

    /** Past round {@code i}: {@code "[Round i]\n问：q\n答：r\n"}. */
    static StringBuilder appendRound(StringBuilder sb, int i, Round r) {
        return sb.append("[Round ").append(i).append("]\n问：").append(r.query()).append("\n答：").append(r.response()).append('\n');
    }

    /** The round to answer, number {@code n}: {@code "[Round n]\n问：query\n答："}. */
    static StringBuilder appendQuery(StringBuilder sb, int n, String query) {
        return sb.append("[Round ").append(n).append("]\n问：").append(query).append("\n答：");
    }
}
