package org.chatglm4j.eval;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The metric files of the HF Trainer's {@code save_metrics("predict", metrics)}: {@code predict_results.json}, and
 * the same keys merged into {@code all_results.json} (which may already hold a training run's {@code train_*}
 * keys), both as {@code json.dump(..., indent=4, sort_keys=True)} writes them.
 */
public final class ResultsFiles {
    public static final String PREDICT_RESULTS = "predict_results.json";
    public static final String ALL_RESULTS = "all_results.json";

    private ResultsFiles() {
    }

    /** The Trainer's metric dict for a predict run: prefixed metrics, samples, runtime and throughput. */
    public static Map<String, Object> predictMetrics(Metrics.Scores scores, int samples, double runtimeSeconds) {
        Map<String, Object> m = new TreeMap<>();
        scores.asMap().forEach((k, v) -> m.put("predict_" + k, v));
        m.put("predict_samples", samples);
        m.put("predict_runtime", PythonFloat.round4(runtimeSeconds));
        m.put("predict_samples_per_second", round3(samples / Math.max(runtimeSeconds, 1e-9)));
        m.put("predict_steps_per_second", round3(samples / Math.max(runtimeSeconds, 1e-9)));
        return m;
    }

    private static double round3(double x) {
        return Double.parseDouble(new BigDecimal(x).setScale(3, java.math.RoundingMode.HALF_EVEN).toPlainString());
    }

    /** Writes predict_results.json and merges into all_results.json, each atomically. */
    public static void write(Path outputDir, Map<String, Object> metrics) {
        PredictionsFile.writeAtomically(outputDir.resolve(PREDICT_RESULTS), dump(new TreeMap<>(metrics)));
        Path all = outputDir.resolve(ALL_RESULTS);
        Map<String, Object> merged = new TreeMap<>();
        if (Files.isRegularFile(all)) {
            try {
                JsonNode old = JsonLines.MAPPER.readTree(Files.readString(all));
                if (old != null && old.isObject()) {
                    old.properties().forEach(e -> merged.put(e.getKey(), e.getValue().isIntegralNumber()
                            ? (Object) e.getValue().asLong() : e.getValue().isNumber() ? (Object) e.getValue().asDouble()
                            : e.getValue().asText()));
                }
            } catch (IOException e) {
                throw new EvalException(all + ": cannot merge the metrics into it: " + e.getMessage(), e);
            }
        }
        merged.putAll(metrics);
        PredictionsFile.writeAtomically(all, dump(merged));
    }

    /** {@code json.dumps(m, indent=4, sort_keys=True)} for string keys and number or string values, plus "\n". */
    static String dump(Map<String, Object> m) {
        StringBuilder sb = new StringBuilder("{\n");
        int i = 0;
        for (Map.Entry<String, Object> e : m.entrySet()) {
            sb.append("    ");
            PythonJson.appendString(sb, e.getKey());
            sb.append(": ");
            Object v = e.getValue();
            if (v instanceof Double d) sb.append(repr(d));
            else if (v instanceof Number n) sb.append(n.longValue());
            else PythonJson.appendString(sb, String.valueOf(v));
            sb.append(++i < m.size() ? ",\n" : "\n");
        }
        return sb.append("}").toString();
    }

    /** Python's {@code repr(float)}: the shortest digits that read back, positional between 1e-4 and 1e16. */
    static String repr(double x) {
        if (Double.isNaN(x)) return "NaN";
        if (Double.isInfinite(x)) return x > 0 ? "Infinity" : "-Infinity";
        if (x == 0) return (1 / x < 0) ? "-0.0" : "0.0";
        BigDecimal d = new BigDecimal(Double.toString(x)).stripTrailingZeros();
        double a = Math.abs(x);
        if (a >= 1e-4 && a < 1e16) {
            String s = d.toPlainString();
            return s.contains(".") ? s : s + ".0";
        }
        String digits = d.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - d.scale();
        String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (x < 0 ? "-" : "") + mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }
}
