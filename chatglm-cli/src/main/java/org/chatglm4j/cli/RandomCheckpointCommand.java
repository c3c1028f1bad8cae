package org.chatglm4j.cli;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.bench.RandomCheckpoint;
import org.chatglm4j.model.ChatGlmConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code chatglm random-checkpoint}: a full-size random-weight checkpoint to measure loading and speed on. */
@Command(name = "random-checkpoint", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Write a random-weight checkpoint of the real ChatGLM-6B geometry (or another) in the HF layout.",
        description = "Writes config.json and model.safetensors (fp16, 13.5 GB at the default geometry) with random "
                + "weights: speed and memory do not depend on weight values. It has no tokenizer; use it with bench, "
                + "info and convert.")
public final class RandomCheckpointCommand implements Callable<Integer> {
    @Mixin
    GeometryOptions geometry;

    @Option(names = {"-o", "--out"}, paramLabel = "DIR", required = true, description = "Folder to write.")
    Path out;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed. Default: ${DEFAULT-VALUE}.")
    long seed;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "Copy this SentencePiece model in as ice_text.model (its special pieces must have the "
                    + "config's ids), with a tokenizer_config.json, so that chat and convert work on the folder.")
    Path tokenizer;

    private final CliContext ctx;

    public RandomCheckpointCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() throws IOException {
        ChatGlmConfig cfg = geometry.config();
        if (Files.exists(out.resolve("model.safetensors"))) throw new ChatGlmException(out + ": already holds a model");
        Progress bar = new Progress(ctx.err(), ctx.stderrTerminal(), "writing " + out.resolve("model.safetensors"));
        long t0 = System.nanoTime();
        if (tokenizer != null && cfg.isGlm2()) {
            // ChatGLM2/3: a plain SentencePiece model; its ids plus the appended specials must fit the vocabulary
            org.chatglm4j.tokenizer.Glm2Tokenizer tok = new org.chatglm4j.tokenizer.Glm2Tokenizer(
                    org.chatglm4j.tokenizer.SentencePieceProcessor.load(tokenizer), false, false);
            if (tok.vocabSize() > cfg.vocabSize()) {
                throw new ChatGlmException(tokenizer + ": " + tok.vocabSize() + " ids do not fit the geometry's "
                        + cfg.vocabSize() + " rows");
            }
            Files.createDirectories(out);
            Files.copy(tokenizer, out.resolve("tokenizer.model"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.writeString(out.resolve("tokenizer_config.json"), "{\"remove_space\": false}\n");
        } else if (tokenizer != null) {
            // check it first: a tokenizer that does not load is better reported before writing 13 GB
            org.chatglm4j.tokenizer.ChatGlmTokenizer tok = org.chatglm4j.tokenizer.ChatGlmTokenizer.load(tokenizer,
                    org.chatglm4j.tokenizer.TokenizerConfig.defaults().withNumImageTokens(0));
            if (tok.gmaskId() != cfg.gmaskTokenId() || tok.bosId() != cfg.bosTokenId() || tok.eosId() != cfg.eosTokenId()) {
                throw new ChatGlmException(tokenizer + ": its [gMASK] <sop> <eop> ids (" + tok.gmaskId() + " "
                        + tok.bosId() + " " + tok.eosId() + ") differ from the geometry's (" + cfg.gmaskTokenId() + " "
                        + cfg.bosTokenId() + " " + cfg.eosTokenId() + ")");
            }
            Files.createDirectories(out);
            Files.copy(tokenizer, out.resolve("ice_text.model"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.writeString(out.resolve("tokenizer_config.json"), "{\"num_image_tokens\": 0}\n");
        }
        RandomCheckpoint.write(out, cfg, seed, bar::update);
        bar.done();
        ctx.err().printf("chatglm: wrote %s (%s) in %.1f s%n", out, Sizes.bytes(RandomCheckpoint.dataBytes(cfg)),
                (System.nanoTime() - t0) / 1e9);
        return 0;
    }
}
