package org.chatglm4j.eval;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code generated_predictions.txt} as {@code ptuning/main.py --do_predict} writes it: one
 * {@code json.dumps({"labels": l, "predict": p}, ensure_ascii=False)} per line.
 */
public final class PredictionsFile {
    public static final String NAME = "generated_predictions.txt";

    private PredictionsFile() {
    }

    /** Reads every pair; bad lines are errors naming the file, line and column. */
    public static List<Prediction> read(Path file) {
        List<Prediction> out = new ArrayList<>();
        for (JsonLines.Row row : JsonLines.read(file)) {
            String labels = row.string("labels");
            String predict = row.string("predict");
            if (labels == null || predict == null) throw row.error("\"labels\" and \"predict\" must be strings, not null");
            out.add(new Prediction(labels, predict));
        }
        return out;
    }

    /**
     * Scores the pairs of a file as compute_metrics does.
     *
     * @throws EvalException naming the line of a pair main.py cannot score (an empty or blank text)
     */
    public static Metrics.Scores score(Path file, Metrics metrics) {
        List<JsonLines.Row> rows = JsonLines.read(file);
        List<Metrics.Scores> pairs = new ArrayList<>(rows.size());
        for (JsonLines.Row row : rows) {
            String labels = row.string("labels");
            String predict = row.string("predict");
            if (labels == null || predict == null) throw row.error("\"labels\" and \"predict\" must be strings, not null");
            try {
                pairs.add(metrics.pair(predict, labels));
            } catch (EvalException e) {
                throw row.error(emptyPairMessage(e));
            }
        }
        return Metrics.mean(pairs);
    }

    /** Why main.py would report nothing for a set that holds this pair. */
    static String emptyPairMessage(EvalException e) {
        String which = e.getMessage().startsWith("Hypothesis") ? "the prediction" : "the label";
        return which + " is empty or blank: rouge_chinese raises \"" + e.getMessage()
                + "\", so ptuning/main.py reports no metric for the set";
    }

    /** Writes the pairs atomically (a temporary file in the same folder, then a rename). */
    public static void write(Path file, List<Prediction> predictions) {
        StringBuilder sb = new StringBuilder();
        for (Prediction p : predictions) {
            sb.append("{\"labels\": ");
            PythonJson.appendString(sb, p.labels());
            sb.append(", \"predict\": ");
            PythonJson.appendString(sb, p.predict());
            sb.append("}\n");
        }
        writeAtomically(file, sb.toString());
    }

    static void writeAtomically(Path file, String text) {
        Path dir = file.toAbsolutePath().getParent();
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            try {
                Files.writeString(tmp, text, StandardCharsets.UTF_8);
                try {
                    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot write: " + e.getMessage(), e);
        }
    }
}
