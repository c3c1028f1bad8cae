package org.chatglm4j.bench;

import org.chatglm4j.generate.BeamSearch;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.Sampler;
import org.chatglm4j.model.AttentionMask;
import org.chatglm4j.model.Batch;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.model.PromptLayout;
import org.chatglm4j.model.Runner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Measures a model the way chatglm.cpp's figures are defined: prefill = the forward pass of the whole prompt
 * (logits of the last position only), decode = the mean single-token step after the first generated token,
 * greedy. With {@code batch > 1}, that many sequences are decoded together, one forward pass per step.
 */
public final class Benchmark {

    /** What one run measured. */
    public record Result(int promptTokens, int generatedTokens, int batch, double prefillSeconds,
                         double prefillTokensPerSecond, double decodeMillisPerStep, double decodeTokensPerSecond,
                         long weightBytesPerToken, double weightReadGBps, long peakRssBytes) {
    }

    private Benchmark() {
    }

    /**
     * Runs one measurement: a prefill of a random prompt, then greedy decoding of {@code batch} sequences
     * ({@code seed} draws the prompt ids).
     *
     * @param promptTokens prompt length including the final {@code [gMASK] <sop>}
     * @param newTokens    tokens generated per sequence (the first comes from the prefill)
     */
    public static Result run(ChatGlmModel model, int promptTokens, int newTokens, int batch, long seed) {
        ChatGlmConfig cfg = model.config();
        if (promptTokens < 2) throw new IllegalArgumentException("prompt needs at least 2 tokens ([gMASK] <sop>)");
        if (newTokens < 2) throw new IllegalArgumentException("generate at least 2 tokens to time decoding");
        Runner runner = model.newRunner();
        Batch b = new Batch();
        SplittableRandom rnd = new SplittableRandom(seed);
        KvCache[] caches = new KvCache[batch];
        PromptLayout[] layouts = new PromptLayout[batch];
        int[] next = new int[batch];
        long prefillNanos = 0;
        for (int s = 0; s < batch; s++) {
            int[] ids = new int[promptTokens];
            for (int i = 0; i < promptTokens - 2; i++) ids[i] = 5 + rnd.nextInt(Math.min(cfg.vocabSize(), 20000) - 5);
            ids[promptTokens - 2] = cfg.gmaskTokenId();
            ids[promptTokens - 1] = cfg.bosTokenId();
            caches[s] = model.newCache();
            b.clear();
            if (cfg.isGlm2()) {   // ChatGLM2/3: positions 0..n-1, causal
                int[] positions = new int[promptTokens];
                for (int i = 0; i < promptTokens; i++) positions[i] = i;
                b.add(caches[s], ids, positions, null, AttentionMask.prompt(0), false);
            } else {
                layouts[s] = PromptLayout.of(ids, cfg);
                b.add(caches[s], ids, layouts[s].positions(ids.length, cfg.positionEncoding2d()),
                        layouts[s].blockPositions(ids.length), layouts[s].mask(), false);
            }
            int seq = s;
            long t0 = System.nanoTime();
            runner.forward(b, (seg, i, logits, off) -> next[seq] = Sampler.argmax(logits, off, cfg.vocabSize()));
            prefillNanos += System.nanoTime() - t0;
        }
        int length = promptTokens + 1;
        long t0 = System.nanoTime();
        for (int step = 1; step < newTokens; step++, length++) {
            b.clear();
            for (int s = 0; s < batch; s++) {
                if (cfg.isGlm2()) b.add(caches[s], next[s], length - 1, 0);
                else b.add(caches[s], next[s], layouts[s].decodePosition(), layouts[s].decodeBlockPosition(length));
            }
            runner.forward(b, (seg, i, logits, off) -> next[seg] = Sampler.argmax(logits, off, cfg.vocabSize()));
        }
        long decodeNanos = System.nanoTime() - t0;
        for (KvCache c : caches) c.close();
        double prefill = prefillNanos / 1e9;
        double stepMs = decodeNanos / 1e6 / (newTokens - 1);
        long bytes = model.weights().bytesPerToken();
        return new Result(promptTokens, newTokens, batch, prefill, batch * promptTokens / prefill, stepMs,
                batch * 1000.0 / stepMs, bytes, bytes / (stepMs / 1e3) / 1e9, peakRss());
    }

    /**
     * Beam search of one random prompt with {@code numBeams} beams ({@link BeamSearch}, length penalty 1, no early
     * stopping) up to {@code promptTokens + newTokens} tokens: prefill = the prompt's pass, decode = the mean step
     * after it (K beams in one forward pass, plus the search: log_softmax, top 2K, cache forks). A step yields one
     * token of the reply; the search may end before {@code newTokens} steps ({@code generatedTokens} says).
     */
    public static Result runBeamSearch(ChatGlmModel model, int promptTokens, int newTokens, int numBeams, long seed) {
        ChatGlmConfig cfg = model.config();
        if (promptTokens < 2) throw new IllegalArgumentException("prompt needs at least 2 tokens ([gMASK] <sop>)");
        if (newTokens < 2) throw new IllegalArgumentException("generate at least 2 tokens to time decoding");
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] ids = new int[promptTokens];
        for (int i = 0; i < promptTokens - 2; i++) ids[i] = 5 + rnd.nextInt(Math.min(cfg.vocabSize(), 20000) - 5);
        ids[promptTokens - 2] = cfg.gmaskTokenId();
        ids[promptTokens - 1] = cfg.bosTokenId();
        GenerationConfig config = GenerationConfig.greedy(promptTokens + newTokens).withBeams(numBeams, 1.0, false);
        Runner runner = model.newRunner();
        Batch b = new Batch();
        long prefillNanos, decodeNanos;
        int steps;
        try (BeamSearch search = new BeamSearch(model, ids, config)) {
            Runner.LogitsSink sink = (seg, i, logits, off) -> search.accept(seg, logits, off);
            long t0 = System.nanoTime();
            search.addTo(b);
            runner.forward(b, sink);
            long t1 = System.nanoTime();
            while (!search.finished()) {
                b.clear();
                search.addTo(b);
                runner.forward(b, sink);
            }
            prefillNanos = t1 - t0;
            decodeNanos = System.nanoTime() - t1;
            steps = search.steps();
        }
        if (steps < 2) throw new IllegalStateException("the beam search ended after its first step");
        double prefill = prefillNanos / 1e9;
        double stepMs = decodeNanos / 1e6 / (steps - 1);
        long bytes = model.weights().bytesPerToken();
        return new Result(promptTokens, steps, numBeams, prefill, promptTokens / prefill, stepMs, 1000.0 / stepMs,
                bytes, bytes / (stepMs / 1e3) / 1e9, peakRss());
    }

    /** Peak resident set size of this process (VmHWM), or -1 where /proc is not available. */
    public static long peakRss() {
        return status("VmHWM:");
    }

    /** Current resident set size (VmRSS), or -1. */
    public static long rss() {
        return status("VmRSS:");
    }

    private static long status(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }
}
