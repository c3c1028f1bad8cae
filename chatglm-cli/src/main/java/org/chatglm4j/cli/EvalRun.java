package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.eval.Metrics;
import org.chatglm4j.eval.PredictDataset;
import org.chatglm4j.eval.PredictionsFile;
import org.chatglm4j.eval.Predictor;
import org.chatglm4j.eval.ResultsFiles;
import org.chatglm4j.generate.SamplingSettings;

import java.nio.file.Files;
import java.util.Locale;
import java.util.Map;

/** What {@link EvalCommand} does with its options. */
final class EvalRun {
    private final EvalCommand cmd;
    private final CliContext ctx;

    EvalRun(EvalCommand cmd, CliContext ctx) {
        this.cmd = cmd;
        this.ctx = ctx;
    }

    Integer call() {
        if ((cmd.predictions == null) == (cmd.validationFile == null)) {
            throw cmd.usage("give either --predictions FILE (score a file) or "
                    + "--validation-file FILE with --output-dir DIR (generate, then score)");
        }
        Metrics.Scores scores = cmd.predictions != null ? scoreFile() : predict();
        print(scores);
        return 0;
    }

    private Metrics.Scores scoreFile() {
        for (String o : new String[]{"--model", "--ptuning", "--output-dir", "--quantize", "--greedy", "--seed"}) {
            if (cmd.given(o)) {
                throw cmd.usage(o + " has no use with --predictions (no model is run)");
            }
        }
        return PredictionsFile.score(cmd.predictions, Metrics.standard());
    }

    private Metrics.Scores predict() {
        if (cmd.outputDir == null) {
            throw cmd.usage("--validation-file needs --output-dir DIR");
        }
        if (Files.exists(cmd.outputDir) && !Files.isDirectory(cmd.outputDir)) {
            throw cmd.usage("--output-dir " + cmd.outputDir + " is a file, not a folder");
        }
        if (cmd.maxSourceLength < 2 || cmd.maxTargetLength < 2) {
            throw cmd.usage("--max-source-length and --max-target-length must be at "
                    + "least 2 (room for [gMASK] <sop>), got " + cmd.maxSourceLength + " and " + cmd.maxTargetLength);
        }
        SamplingSettings sampling;
        try {
            sampling = new SamplingSettings(!cmd.greedy, cmd.greedy ? 1.0 : cmd.temperature, cmd.greedy ? 0 : cmd.topK,
                    cmd.greedy ? 1.0 : cmd.topP, 1.0);
        } catch (ChatGlmException e) {
            throw cmd.usage(e.getMessage());
        }
        // the segmenter (dictionary) loads first: a broken class path fails before any generation
        Metrics metrics = Metrics.standard();
        try (ChatGLM glm = ChatGLM.load(cmd.model.resolve(ctx), cmd.tuning.apply(cmd.model.loadOptions(cmd.ptuning)))) {
            PredictDataset data = PredictDataset.read(cmd.validationFile,
                    new PredictDataset.Columns(cmd.promptColumn, cmd.responseColumn, cmd.historyColumn), cmd.sourcePrefix,
                    cmd.maxSourceLength, cmd.maxTargetLength, glm.tokenizer());
            if (data.skipped() > 0) {
                ctx.err().println("chatglm: " + data.skipped() + " row(s) with an empty prompt or response skipped, "
                        + "as main.py does");
            }
            PredictProgress progress = new PredictProgress(ctx.err(), ctx.stderrTerminal());
            Predictor.Result r = Predictor.run(glm, data, sampling, cmd.seed, metrics, progress, null);
            progress.done();
            PredictionsFile.write(cmd.outputDir.resolve(PredictionsFile.NAME), r.predictions());
            Map<String, Object> files = ResultsFiles.predictMetrics(r.metrics(), r.predictions().size(), r.nanos() / 1e9);
            ResultsFiles.write(cmd.outputDir, files);
            cmd.model.note(ctx, String.format(Locale.ROOT, "%d predictions, %d tokens in %.1f s (%.1f tokens/s); wrote %s",
                    r.predictions().size(), r.tokens(), r.nanos() / 1e9, r.tokens() / Math.max(r.nanos() / 1e9, 1e-9),
                    cmd.outputDir.resolve(PredictionsFile.NAME)));
            return r.metrics();
        }
    }

    private void print(Metrics.Scores scores) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        scores.asMap().forEach(o::put);
        if (cmd.json) {
            Json.writeLine(ctx.out(), o);
        } else {
            ctx.out().println(o.toPrettyString());
            ctx.out().flush();
        }
    }
}
