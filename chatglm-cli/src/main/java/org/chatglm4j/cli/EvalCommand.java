package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.eval.Metrics;
import org.chatglm4j.eval.PredictDataset;
import org.chatglm4j.eval.PredictionsFile;
import org.chatglm4j.eval.Predictor;
import org.chatglm4j.eval.ResultsFiles;
import org.chatglm4j.generate.SamplingSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code chatglm eval}: what {@code ptuning/main.py --do_predict} (evaluate.sh) reports, with or without a model.
 * With {@code --predictions} it scores an existing generated_predictions.txt; with {@code --validation-file} it
 * generates the predictions first, writes them and the metric files to {@code --output-dir}, and scores them.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        header = "ROUGE-1/2/L and BLEU-4 of predictions, as ptuning/main.py --do_predict computes them.",
        description = {"Scores predictions like compute_metrics of ptuning/main.py: ROUGE-1/2/L F-scores over jieba "
                + "words (rouge_chinese), BLEU-4 over characters (nltk, smoothing method 3), each x100, averaged.",
                "--predictions FILE: score an existing generated_predictions.txt (JSON lines {\"labels\", "
                        + "\"predict\"}); no model is loaded.",
                "--validation-file FILE: generate for every row as main.py --do_predict does (inputs of "
                        + "preprocess_function_eval, max_length = source + target + 1, sampling with top_p 0.7 and "
                        + "temperature 0.95 unless --greedy), then write OUTPUT_DIR/generated_predictions.txt and "
                        + "OUTPUT_DIR/predict_results.json.",
                "Standard output: {\"rouge-1\", \"rouge-2\", \"rouge-l\", \"bleu-4\"} (one line with --json)."})
public final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--predictions", paramLabel = "FILE",
            description = "A generated_predictions.txt to score (no model needed).")
    Path predictions;

    @Option(names = "--json", description = "Print the metrics as one JSON line.")
    boolean json;

    @Option(names = {"--validation-file", "--test-file"}, paramLabel = "FILE",
            description = "JSON-lines data to generate predictions for (AdvertiseGen format).")
    Path validationFile;

    @Option(names = "--prompt-column", paramLabel = "NAME", description = "Column of the prompt. Default: ${DEFAULT-VALUE}.",
            defaultValue = "content")
    String promptColumn;

    @Option(names = "--response-column", paramLabel = "NAME",
            description = "Column of the expected response. Default: ${DEFAULT-VALUE}.", defaultValue = "summary")
    String responseColumn;

    @Option(names = "--history-column", paramLabel = "NAME",
            description = "Column of the chat history, a list of [query, response] pairs.")
    String historyColumn;

    @Option(names = "--source-prefix", paramLabel = "TEXT", defaultValue = "",
            description = "Text put before every prompt.")
    String sourcePrefix;

    @Option(names = "--max-source-length", paramLabel = "N", defaultValue = "1024",
            description = "Prompt length in tokens, [gMASK] <sop> included. Default: ${DEFAULT-VALUE}.")
    int maxSourceLength;

    @Option(names = "--max-target-length", paramLabel = "N", defaultValue = "128",
            description = "Label length in tokens; generation may add source + target + 1 minus the prompt. "
                    + "Default: ${DEFAULT-VALUE}.")
    int maxTargetLength;

    @Option(names = "--ptuning", paramLabel = "DIR", description = "A P-Tuning v2 checkpoint folder to load on top.")
    Path ptuning;

    @Option(names = "--greedy", description = "Greedy decoding instead of main.py's sampling (deterministic).")
    boolean greedy;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.95",
            description = "Sampling temperature. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.7",
            description = "Nucleus sampling threshold. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "50",
            description = "Sample among the K best tokens (0 = all). Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the sampler (row i uses N + i).")
    Long seed;

    @Option(names = {"-o", "--output-dir"}, paramLabel = "DIR",
            description = "Where generated_predictions.txt and predict_results.json go (with --validation-file).")
    Path outputDir;

    @Mixin
    ModelOptions model;

    @Mixin
    LoadTuning tuning;

    private final CliContext ctx;

    public EvalCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        if ((predictions == null) == (validationFile == null)) {
            throw new ParameterException(spec.commandLine(), "give either --predictions FILE (score a file) or "
                    + "--validation-file FILE with --output-dir DIR (generate, then score)");
        }
        Metrics.Scores scores = predictions != null ? scoreFile() : predict();
        print(scores);
        return 0;
    }

    private Metrics.Scores scoreFile() {
        for (String o : new String[]{"--model", "--ptuning", "--output-dir", "--quantize", "--greedy", "--seed"}) {
            if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
                throw new ParameterException(spec.commandLine(), o + " has no use with --predictions (no model is run)");
            }
        }
        return PredictionsFile.score(predictions, Metrics.standard());
    }

    private Metrics.Scores predict() {
        if (outputDir == null) {
            throw new ParameterException(spec.commandLine(), "--validation-file needs --output-dir DIR");
        }
        if (maxSourceLength < 2 || maxTargetLength < 2) {
            throw new ParameterException(spec.commandLine(), "--max-source-length and --max-target-length must be at "
                    + "least 2 (room for [gMASK] <sop>), got " + maxSourceLength + " and " + maxTargetLength);
        }
        SamplingSettings sampling;
        try {
            sampling = new SamplingSettings(!greedy, greedy ? 1.0 : temperature, greedy ? 0 : topK,
                    greedy ? 1.0 : topP, 1.0);
        } catch (org.chatglm4j.ChatGlmException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        // the segmenter (dictionary) loads first: a broken class path fails before any generation
        Metrics metrics = Metrics.standard();
        try (ChatGLM glm = ChatGLM.load(model.resolve(ctx), tuning.apply(model.loadOptions(ptuning)))) {
            PredictDataset data = PredictDataset.read(validationFile,
                    new PredictDataset.Columns(promptColumn, responseColumn, historyColumn), sourcePrefix,
                    maxSourceLength, maxTargetLength, glm.tokenizer());
            if (data.skipped() > 0) {
                ctx.err().println("chatglm: " + data.skipped() + " row(s) with an empty prompt or response skipped, "
                        + "as main.py does");
            }
            PredictProgress progress = new PredictProgress(ctx.err(), ctx.stderrTerminal());
            Predictor.Result r = Predictor.run(glm, data, sampling, seed, metrics, progress, null);
            progress.done();
            PredictionsFile.write(outputDir.resolve(PredictionsFile.NAME), r.predictions());
            Map<String, Object> files = ResultsFiles.predictMetrics(r.metrics(), r.predictions().size(), r.nanos() / 1e9);
            ResultsFiles.write(outputDir, files);
            model.note(ctx, String.format(Locale.ROOT, "%d predictions, %d tokens in %.1f s (%.1f tokens/s); wrote %s",
                    r.predictions().size(), r.tokens(), r.nanos() / 1e9, r.tokens() / Math.max(r.nanos() / 1e9, 1e-9),
                    outputDir.resolve(PredictionsFile.NAME)));
            return r.metrics();
        }
    }

    private void print(Metrics.Scores scores) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        scores.asMap().forEach(o::put);
        if (json) {
            Json.writeLine(ctx.out(), o);
        } else {
            ctx.out().println(o.toPrettyString());
            ctx.out().flush();
        }
    }
}
