package org.chatglm4j.train;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code preprocess_function_train} of ptuning/main.py: rows with an empty prompt or response are skipped; with a
 * history column the prompt is always the {@code [Round i]} template (also for an empty history, unlike chat());
 * the source prefix goes first; prompt and answer are encoded without special tokens, truncated to
 * {@code max_source_length − 1} and {@code max_target_length − 2}; {@code input_ids = a + [gMASK, <sop>] + b +
 * [<eop>]}; labels are −100 up to and including {@code [gMASK]}, then the ids; both right-padded with
 * {@code <pad>} to {@code max_source_length + max_target_length}, every pad label becoming −100.
 */
public final class Preprocessing {
    private Preprocessing() {
    }

    /**
     * Tokenized, truncated and padded examples of {@code rows}, in order, as the reference's {@code
     * preprocess_function_train}; rows with an empty prompt or response are skipped. {@code file} names the data in
     * errors.
     */
    public static List<TrainingExample> examples(List<TrainingRow> rows, ChatGlmTokenizer tokenizer, String sourcePrefix,
                                                 boolean historyColumn, int maxSource, int maxTarget, Path file) {
        if (maxSource < 1) throw new ChatGlmException("--max-source-length must be at least 1, got " + maxSource);
        if (maxTarget < 2) throw new ChatGlmException("--max-target-length must be at least 2, got " + maxTarget);
        int length = maxSource + maxTarget, pad = tokenizer.padId();
        List<TrainingExample> out = new ArrayList<>();
        for (TrainingRow row : rows) {
            if (row.prompt() == null || row.prompt().isEmpty() || row.response() == null || row.response().isEmpty()) continue;
            String prompt = row.prompt();
            if (historyColumn) {
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < row.history().size(); i++) {
                    String[] turn = row.history().get(i);
                    b.append("[Round ").append(i).append("]\n问：").append(turn[0]).append("\n答：").append(turn[1]).append('\n');
                }
                b.append("[Round ").append(row.history().size()).append("]\n问：").append(prompt).append("\n答：");
                prompt = b.toString();
            }
            prompt = (sourcePrefix == null ? "" : sourcePrefix) + prompt;
            int[] a = tokenizer.encodeHfNoSpecial(prompt);
            int[] b = tokenizer.encodeHfNoSpecial(row.response());
            if (a.length > maxSource - 1) a = Arrays.copyOf(a, maxSource - 1);
            if (b.length > maxTarget - 2) b = Arrays.copyOf(b, maxTarget - 2);
            int[] ids = tokenizer.buildInputs(a, b);
            int context = a.length + 1;   // index of <sop>; labels start after [gMASK]
            int[] inputIds = new int[length], labels = new int[length];
            Arrays.fill(inputIds, pad);
            Arrays.fill(labels, TrainingExample.IGNORE);
            System.arraycopy(ids, 0, inputIds, 0, ids.length);
            for (int i = context; i < ids.length; i++) labels[i] = ids[i] == pad ? TrainingExample.IGNORE : ids[i];
            out.add(new TrainingExample(inputIds, labels, row.line()));
        }
        if (out.isEmpty()) throw new ChatGlmException(file + ": no row has both a prompt and a response");
        return out;
    }
}
