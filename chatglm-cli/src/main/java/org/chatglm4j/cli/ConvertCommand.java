package org.chatglm4j.cli;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.cglm.CglmFormat;
import org.chatglm4j.cglm.CglmWriter;
import org.chatglm4j.quant.QuantFormat;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code chatglm convert}: a Hugging Face model folder into one memory-mappable {@code .cglm} file. */
@Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Convert a model into chatglm4j's single-file format (.cglm), optionally quantized.",
        description = {"Writes config, tokenizer and weights (quantized as asked) into one checksummed, page-aligned "
                + "file that loads in about the time it takes to map it. chat, generate, logits, serve and bench "
                + "accept it wherever they accept a model folder.",
                "Example: chatglm convert --model THUDM/chatglm-6b --quantize q4 --out chatglm-6b-q4.cglm"})
public final class ConvertCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = {"-q", "--quantize"}, paramLabel = "FORMAT", converter = LoadTuning.QuantFormatConverter.class,
            description = "Format of the linear layers: q4, q8, int4, int8 or none. Default: ${DEFAULT-VALUE}.",
            defaultValue = "q4")
    QuantFormat quantize;

    @Option(names = "--quantize-embeddings", paramLabel = "FORMAT", converter = LoadTuning.QuantFormatConverter.class,
            description = "Format of the word embeddings / lm_head. Default: q8 when --quantize is q4/q8/int4/int8, "
                    + "else none.")
    QuantFormat embeddings;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", required = true, description = "The .cglm file to write.")
    Path out;

    @Option(names = "--force", description = "Replace FILE if it exists.")
    boolean force;

    private final CliContext ctx;

    public ConvertCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        if (!out.getFileName().toString().endsWith(CglmFormat.EXTENSION)) {
            throw new ChatGlmException(out + ": the output file name must end with " + CglmFormat.EXTENSION);
        }
        if (Files.exists(out) && !force) throw new ChatGlmException(out + ": exists (use --force to replace it)");
        Path folder = model.resolve(ctx);
        if (SingleFile.is(folder)) throw new ChatGlmException(folder + ": already a .cglm file");
        QuantFormat emb = embeddings != null ? embeddings : quantize == QuantFormat.NONE ? QuantFormat.NONE : QuantFormat.Q8;
        long t0 = System.nanoTime();
        Progress bar = new Progress(ctx.err(), ctx.stderrTerminal(), "writing " + out.getFileName());
        CglmWriter.convert(folder, quantize, emb, out, bar::update, model.chatFormat(folder));
        bar.done();
        ctx.err().printf("chatglm: wrote %s (%s, linears %s, embeddings %s) in %.1f s%n", out,
                Sizes.bytes(out.toFile().length()), quantize, emb, (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
