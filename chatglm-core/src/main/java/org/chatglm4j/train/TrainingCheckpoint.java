package org.chatglm4j.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.io.TensorRef;
import org.chatglm4j.io.TorchZipWriter;
import org.chatglm4j.io.TorchZipWriter.NamedTensor;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.PrefixEncoder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The output folder of a training run, in the Hugging Face Trainer's layout:
 * <pre>
 * OUTPUT_DIR/trainer_state.json           log_history ({"epoch", "learning_rate", "loss", "step"} entries)
 * OUTPUT_DIR/train_log.jsonl              the same entries, one JSON object per line
 * OUTPUT_DIR/checkpoint-N/pytorch_model.bin   only transformer.prefix_encoder.* (torch.save zip format)
 *                        /config.json         the model's config with pre_seq_len and prefix_projection
 *                        /optimizer.pt        AdamW moments: &lt;parameter&gt;.exp_avg / .exp_avg_sq (torch.save zip)
 *                        /trainer_state.json  global_step, log_history, the options that fix the run
 * </pre>
 * A checkpoint is written into a hidden temporary folder and renamed into place, and every JSON file is written to
 * a temporary file and renamed: a run killed at any moment leaves complete checkpoints only.
 */
final class TrainingCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String STATE = "trainer_state.json", LOG = "train_log.jsonl", WEIGHTS = "pytorch_model.bin",
            OPTIMIZER = "optimizer.pt", CONFIG = "config.json";

    private final Path dir;
    private final ChatGlmConfig cfg;
    private final TrainingOptions options;

    TrainingCheckpoint(Path dir, ChatGlmConfig cfg, TrainingOptions options) {
        this.dir = dir;
        this.cfg = cfg;
        this.options = options;
    }

    /** What a checkpoint restores. */
    record Resumed(Path dir, int step, TrainablePrefix prefix, List<float[]> firstMoments, List<float[]> secondMoments,
                   List<Map<String, Object>> logHistory) {
    }

    /** Creates the folder, removes leftovers of interrupted saves and rewrites the log of a resumed run. */
    void prepare(List<Map<String, Object>> history, boolean resumed) {
        try {
            Files.createDirectories(dir);
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.filter(p -> p.getFileName().toString().startsWith(".checkpoint-")).toList()) deleteTree(p);
            }
            if (!resumed) {
                try (Stream<Path> s = Files.list(dir)) {
                    if (s.anyMatch(p -> p.getFileName().toString().startsWith("checkpoint-"))) {
                        throw new ChatGlmException(dir + " already holds checkpoints: pass --resume to continue that "
                                + "run, or choose another --output-dir");
                    }
                }
            }
            writeState(history);
            StringBuilder b = new StringBuilder();
            for (Map<String, Object> e : history) b.append(new ObjectMapper().writeValueAsString(e)).append('\n');
            atomicWrite(dir.resolve(LOG), b.toString());
        } catch (IOException e) {
            throw new ChatGlmException(dir + ": " + e.getMessage(), e);
        }
    }

    /** Appends a log entry and rewrites trainer_state.json. */
    void log(Map<String, Object> entry, List<Map<String, Object>> history) {
        try {
            Files.writeString(dir.resolve(LOG), new ObjectMapper().writeValueAsString(entry) + "\n", StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            writeState(history);
        } catch (IOException e) {
            throw new ChatGlmException(dir + ": cannot write the training log: " + e.getMessage(), e);
        }
    }

    private void writeState(List<Map<String, Object>> history) throws IOException {
        Map<String, Object> state = new LinkedHashMap<>();
        int step = 0;
        for (Map<String, Object> e : history) step = Math.max(step, ((Number) e.get("step")).intValue());
        state.put("global_step", step);
        state.put("max_steps", options.maxSteps());
        state.put("logging_steps", options.loggingSteps());
        state.put("save_steps", options.saveSteps());
        state.put("log_history", history);
        atomicWrite(dir.resolve(STATE), JSON.writeValueAsString(state));
    }

    /** Writes checkpoint-{@code step} and returns its folder. */
    Path save(int step, TrainablePrefix prefix, AdamW adam, List<Map<String, Object>> history) {
        Path target = dir.resolve("checkpoint-" + step);
        Path tmp = dir.resolve(".checkpoint-" + step + ".tmp");
        try {
            deleteTree(tmp);
            Files.createDirectories(tmp);
            TorchZipWriter.write(tmp.resolve(WEIGHTS), prefix.tensors());
            List<NamedTensor> opt = new ArrayList<>(prefix.tensors(adam.firstMoments(), "exp_avg"));
            opt.addAll(prefix.tensors(adam.secondMoments(), "exp_avg_sq"));
            TorchZipWriter.write(tmp.resolve(OPTIMIZER), opt);
            Map<String, Object> config = new LinkedHashMap<>(cfg.withPrefix(prefix.preSeqLen(), prefix.projection()).toJson());
            atomicWrite(tmp.resolve(CONFIG), JSON.writeValueAsString(config));
            Map<String, Object> state = new LinkedHashMap<>();
            state.put("global_step", step);
            state.put("max_steps", options.maxSteps());
            state.put("optimizer_step", adam.step());
            state.put("log_history", history);
            Map<String, Object> run = new LinkedHashMap<>();
            run.put("pre_seq_len", prefix.preSeqLen());
            run.put("prefix_projection", prefix.projection());
            run.put("learning_rate", options.learningRate());
            run.put("per_device_train_batch_size", options.batchSize());
            run.put("gradient_accumulation_steps", options.gradientAccumulationSteps());
            run.put("seed", options.seed());
            run.put("shuffle", options.shuffle());
            run.put("prefix_dropout", options.prefixDropout());
            state.put("run", run);
            atomicWrite(tmp.resolve(STATE), JSON.writeValueAsString(state));
            if (Files.exists(target)) {   // a resumed run passing a step it had saved: replace it atomically too
                Path old = dir.resolve(".checkpoint-" + step + ".old");
                deleteTree(old);
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
                deleteTree(old);
            } else {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            }
            return target;
        } catch (IOException e) {
            throw new ChatGlmException(target + ": cannot write the checkpoint: " + e.getMessage(), e);
        }
    }

    /** The checkpoint-N with the largest N, or null. */
    Resumed latest() {
        if (!Files.isDirectory(dir)) return null;
        Path best = null;
        int bestStep = -1;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "checkpoint-*")) {
            for (Path p : s) {
                String n = p.getFileName().toString().substring("checkpoint-".length());
                if (!n.matches("[0-9]{1,9}") || !Files.isRegularFile(p.resolve(STATE))) continue;
                int step = Integer.parseInt(n);
                if (step > bestStep) {
                    bestStep = step;
                    best = p;
                }
            }
        } catch (IOException e) {
            throw new ChatGlmException(dir + ": " + e.getMessage(), e);
        }
        return best == null ? null : load(best);
    }

    private Resumed load(Path ck) {
        try {
            JsonNode state = JSON.readTree(ck.resolve(STATE).toFile());
            JsonNode run = state.path("run");
            int pre = run.path("pre_seq_len").asInt(), step = state.path("global_step").asInt();
            boolean projection = run.path("prefix_projection").asBoolean();
            if (pre != options.preSeqLen() || projection != options.prefixProjection()) {
                throw new ChatGlmException(ck + ": the checkpoint has pre_seq_len " + pre + " and prefix_projection "
                        + projection + ", the options say " + options.preSeqLen() + " and " + options.prefixProjection());
            }
            if (run.path("per_device_train_batch_size").asInt() != options.batchSize()
                    || run.path("gradient_accumulation_steps").asInt() != options.gradientAccumulationSteps()) {
                throw new ChatGlmException(ck + ": the run used batch size " + run.path("per_device_train_batch_size").asInt()
                        + " × " + run.path("gradient_accumulation_steps").asInt() + " accumulation steps; resume with the same");
            }
            TrainablePrefix prefix;
            try (Checkpoint weights = Checkpoint.open(ck)) {
                prefix = new TrainablePrefix(cfg, PrefixEncoder.load(cfg.withPrefix(pre, projection), weights.tensors(), ck.toString()));
            }
            List<float[]> m = new ArrayList<>(), v = new ArrayList<>();
            try (Checkpoint opt = Checkpoint.open(ck.resolve(OPTIMIZER))) {
                Map<String, TensorRef> t = opt.tensors();
                for (int i = 0; i < prefix.names().size(); i++) {
                    m.add(moment(t, prefix.names().get(i) + ".exp_avg", prefix.parameters().get(i).length, ck));
                    v.add(moment(t, prefix.names().get(i) + ".exp_avg_sq", prefix.parameters().get(i).length, ck));
                }
            }
            List<Map<String, Object>> history = new ArrayList<>();
            for (JsonNode e : state.path("log_history")) {
                @SuppressWarnings("unchecked")
                Map<String, Object> entry = JSON.convertValue(e, LinkedHashMap.class);
                history.add(entry);
            }
            return new Resumed(ck, step, prefix, m, v, history);
        } catch (IOException e) {
            throw new ChatGlmException(ck + ": cannot read the checkpoint: " + e.getMessage(), e);
        }
    }

    private static float[] moment(Map<String, TensorRef> t, String name, int n, Path ck) {
        TensorRef r = t.get(name);
        if (r == null) throw new ChatGlmException(ck.resolve(OPTIMIZER) + ": missing tensor " + name);
        float[] a = ChatGlmWeights.toFloats(r);
        if (a.length != n) throw new ChatGlmException(ck.resolve(OPTIMIZER) + ": tensor " + name + " has " + a.length + " values, expected " + n);
        return a;
    }

    static void atomicWrite(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
