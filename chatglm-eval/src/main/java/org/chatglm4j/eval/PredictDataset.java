package org.chatglm4j.eval;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A validation file prepared as {@code preprocess_function_eval} of {@code ptuning/main.py} prepares it for
 * {@code --do_predict}: rows whose prompt or response is empty (or null) are skipped; with a history column and a
 * non-empty history the prompt is the {@code [Round i]} template (an empty history leaves the query alone, unlike
 * training); {@code source_prefix} goes in front; the inputs are {@code tokenizer(inputs, max_length=S,
 * truncation=True)}: text ids cut to S − 2, then {@code [gMASK] <sop>}; the labels the same with T.
 *
 * <p>main.py tokenizes in {@code datasets.map} batches of 1000 rows with {@code padding=True}: every input of a batch
 * is left-padded to the longest one, and {@code generate(max_length=S + T + 1)} counts that padding. The padding
 * itself is masked and changes no logit, so each example here is generated unpadded with the room the padded one had:
 * {@code S + T + 1 − longest input of its batch} new tokens at most.
 *
 * @param examples the kept rows, in file order
 * @param skipped  rows left out because their prompt or response was empty
 */
public record PredictDataset(List<Example> examples, int skipped) {
    /** The rows main.py's map() handles at once (datasets' default batch size). */
    public static final int MAP_BATCH_ROWS = 1000;

    /** Column names of the validation file. */
    public record Columns(String prompt, String response, String history) {
    }

    /**
     * One kept row.
     *
     * @param line         its line in the file
     * @param inputIds     prompt ids + [gMASK] <sop>
     * @param labelIds     response ids + [gMASK] <sop> (decoded without special tokens, they give the label text)
     * @param maxNewTokens the room generate() has for this row
     */
    public record Example(int line, int[] inputIds, int[] labelIds, int maxNewTokens) {
    }

    public static PredictDataset read(Path file, Columns columns, String sourcePrefix, int maxSourceLength,
                                      int maxTargetLength, ChatGlmTokenizer tokenizer) {
        if (maxSourceLength < 2 || maxTargetLength < 2) {
            throw new EvalException("--max-source-length and --max-target-length must be at least 2 (room for "
                    + "[gMASK] <sop>), got " + maxSourceLength + " and " + maxTargetLength);
        }
        String prefix = sourcePrefix == null ? "" : sourcePrefix;
        List<JsonLines.Row> rows = JsonLines.read(file);
        List<Example> out = new ArrayList<>();
        int skipped = 0;
        for (int start = 0; start < rows.size(); start += MAP_BATCH_ROWS) {
            List<JsonLines.Row> batch = rows.subList(start, Math.min(rows.size(), start + MAP_BATCH_ROWS));
            List<int[][]> kept = new ArrayList<>();
            List<Integer> lines = new ArrayList<>();
            int longest = 0;
            for (JsonLines.Row row : batch) {
                String query = row.string(columns.prompt());
                String response = row.string(columns.response());
                if (query == null || query.isEmpty() || response == null || response.isEmpty()) {
                    skipped++;
                    continue;
                }
                String prompt = prompt(row, columns, query);
                int[] input = tokenizer.buildInputs(truncate(tokenizer.encodeHfNoSpecial(prefix + prompt), maxSourceLength - 2));
                int[] label = tokenizer.buildInputs(truncate(tokenizer.encodeHfNoSpecial(response), maxTargetLength - 2));
                longest = Math.max(longest, input.length);
                kept.add(new int[][]{input, label});
                lines.add(row.line());
            }
            int room = maxSourceLength + maxTargetLength + 1 - longest;
            for (int i = 0; i < kept.size(); i++) {
                out.add(new Example(lines.get(i), kept.get(i)[0], kept.get(i)[1], room));
            }
        }
        if (out.isEmpty()) {
            throw new EvalException(file + ": no row has both a non-empty \"" + columns.prompt() + "\" and a non-empty \""
                    + columns.response() + "\"");
        }
        return new PredictDataset(List.copyOf(out), skipped);
    }

    private static int[] truncate(int[] ids, int max) {
        return ids.length > max ? Arrays.copyOf(ids, max) : ids;
    }

    /** The query alone, or the [Round i] template over a non-empty history. */
    private static String prompt(JsonLines.Row row, Columns columns, String query) {
        if (columns.history() == null) return query;
        JsonNode history = row.object().get(columns.history());
        if (history == null) throw row.error("no \"" + columns.history() + "\" column");
        if (!history.isArray()) {
            throw row.error("\"" + columns.history() + "\" is " + JsonLines.kind(history) + ", not a list of [query, response] pairs");
        }
        if (history.isEmpty()) return query;
        StringBuilder sb = new StringBuilder();
        int turn = 0;
        for (JsonNode pair : history) {
            if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isTextual() || !pair.get(1).isTextual()) {
                throw row.error("\"" + columns.history() + "\"[" + turn + "] is not a [query, response] pair of strings");
            }
            sb.append("[Round ").append(turn).append("]\n问：").append(pair.get(0).asText())
                    .append("\n答：").append(pair.get(1).asText()).append('\n');
            turn++;
        }
        sb.append("[Round ").append(turn).append("]\n问：").append(query).append("\n答：");
        return sb.toString();
    }
}
