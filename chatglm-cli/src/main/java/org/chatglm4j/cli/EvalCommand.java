package org.chatglm4j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
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

    final CliContext ctx;

    public EvalCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        // the work (and every type of chatglm-eval) lives in EvalRun: loading this command, as picocli does for
        // every command at start-up, then needs nothing beyond the CLI's own classes
        return new EvalRun(this, ctx).call();
    }

    ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    boolean given(String option) {
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }
}
