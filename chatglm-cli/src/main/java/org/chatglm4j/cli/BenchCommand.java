package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.bench.Benchmark;
import org.chatglm4j.bench.RandomModel;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code chatglm bench}: prefill and decode speed, time to first token, load time and peak memory, on a random
 * model of any geometry built in memory (default: the real ChatGLM-6B geometry) or on a real model.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Measure prefill tokens/s, decode ms/token, time to first token, load time and peak RSS.",
        description = {"Without --model, builds random weights of the given geometry (default: ChatGLM-6B) in the "
                + "given format in memory; with --model, loads that model (folder, repo id or .cglm). Prefill is the "
                + "forward pass of a random prompt of --prompt-tokens (ending in [gMASK] <sop>), decode the mean "
                + "greedy step after the first token, like chatglm.cpp's figures. --batch N decodes N sequences "
                + "together.",
                "Example: chatglm bench --format q4 --threads 2 --reps 3"})
public final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH_OR_REPO_ID",
            description = "Measure this model instead of random weights.")
    String modelArg;

    @Option(names = "--revision", defaultValue = "main", description = "Revision of a hub repo id.")
    String revision;

    @Mixin
    GeometryOptions geometry;

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", converter = LoadTuning.QuantFormatConverter.class,
            defaultValue = "q4", description = "Linear layers of the random model (q4, q8, int4, int8, none = fp16); "
            + "with --model, quantize while loading (none = as stored). Default: ${DEFAULT-VALUE}.")
    QuantFormat format;

    @Option(names = "--embeddings", paramLabel = "FORMAT", converter = LoadTuning.QuantFormatConverter.class,
            description = "Word embeddings / lm_head format. Default: the --format of a random model (as chatglm.cpp "
                    + "quantizes them too); as stored for --model.")
    QuantFormat embeddings;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt length. Default: ${DEFAULT-VALUE}.")
    int promptTokens;

    @Option(names = "--new-tokens", defaultValue = "65", description = "Tokens generated per sequence. Default: ${DEFAULT-VALUE}.")
    int newTokens;

    @Option(names = "--batch", defaultValue = "1", description = "Sequences decoded together. Default: ${DEFAULT-VALUE}.")
    int batch;

    @Option(names = "--num-beams", defaultValue = "1", paramLabel = "K", description = "Beam search with K beams "
            + "instead of greedy decoding (one prompt; decode = ms per step of all K beams, one reply token per "
            + "step). Default: ${DEFAULT-VALUE}.")
    int numBeams;

    @Option(names = "--reps", defaultValue = "3", description = "Repetitions (median reported). Default: ${DEFAULT-VALUE}.")
    int reps;

    @Option(names = {"-t", "--threads"}, description = "Compute threads. Default: the available processors.")
    Integer threads;

    KvCache.Precision kvCache = KvCache.Precision.F16;

    @Option(names = "--kv-cache", paramLabel = "f32|f16", description = "Attention cache precision. Default: f16, "
            + "as chat.")
    void setKv(String v) {
        kvCache = LoadTuning.parseKv(v, spec);
    }

    @Option(names = "--json", description = "Write one JSON object.")
    boolean json;

    @Option(names = "--bandwidth-probe", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Measure the READ memory bandwidth (a 256 MiB off-heap buffer, freed before the model "
                    + "loads) and report the fraction of it decode moves. Default: on.")
    boolean bandwidthProbe;

    private double probeGBps = Double.NaN;

    private final CliContext ctx;
    private long rssAfterLoad, heapAfterLoad;

    public BenchCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        if (numBeams < 1 || numBeams > org.chatglm4j.generate.GenerationConfig.MAX_BEAMS
                || (numBeams > 1 && batch != 1)) {
            throw new ParameterException(spec.commandLine(), "--num-beams must be between 1 and "
                    + org.chatglm4j.generate.GenerationConfig.MAX_BEAMS + ", and --batch 1 with beams");
        }
        if (promptTokens < 2 || newTokens < 2 || batch < 1 || reps < 1) {
            throw new ParameterException(spec.commandLine(), "need --prompt-tokens >= 2, --new-tokens >= 2, --batch >= 1, --reps >= 1");
        }
        int t = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        if (t < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1");
        if (bandwidthProbe) {
            try (Parallel probePool = new Parallel(t)) {
                probeGBps = org.chatglm4j.bench.BandwidthProbe.readGBps(probePool);
            }
        }
        long t0 = System.nanoTime();
        List<AutoCloseable> open = new ArrayList<>();
        try {
            ChatGlmModel model;
            String source;
            if (modelArg == null) {
                QuantFormat emb = embeddings != null ? embeddings : format;
                ChatGlmConfig cfg = geometry.config();
                Parallel pool = new Parallel(t);
                Arena arena = Arena.ofShared();
                open.add(pool);
                open.add(arena);
                ChatGlmWeights w = RandomModel.create(cfg, format, emb, 1, arena, pool);
                model = new ChatGlmModel(w, null, pool, kvCache);
                source = String.format(Locale.ROOT, "random %d layers, hidden %d, linears %s, embeddings %s",
                        cfg.numLayers(), cfg.hiddenSize(), format, emb);
            } else {
                Path folder = locate(modelArg);
                ChatGLM glm = ChatGLM.load(folder, org.chatglm4j.chat.LoadOptions.defaults().withThreads(t)
                        .withQuantize(format == QuantFormat.NONE || SingleFile.is(folder) ? QuantFormat.NONE : format)
                        .withEmbeddings(embeddings != null ? embeddings : QuantFormat.NONE).withKvCache(kvCache));
                open.add(glm);
                model = glm.model();
                source = folder.toString();
            }
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            rssAfterLoad = Benchmark.rss();
            Runtime rt = Runtime.getRuntime();
            heapAfterLoad = rt.totalMemory() - rt.freeMemory();
            List<Benchmark.Result> results = new ArrayList<>();
            for (int r = 0; r < reps; r++) {
                Benchmark.Result res = numBeams > 1 ? Benchmark.runBeamSearch(model, promptTokens, newTokens, numBeams, r)
                        : Benchmark.run(model, promptTokens, newTokens, batch, r);
                results.add(res);
                if (!json) ctx.err().printf(Locale.ROOT, "chatglm: rep %d: prefill %.2f tok/s, decode %.1f ms/step%n",
                        r + 1, res.prefillTokensPerSecond(), res.decodeMillisPerStep());
            }
            report(source, t, loadSeconds, model, results);
        } finally {
            for (AutoCloseable c : open.reversed()) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // measurement is done; nothing to recover
                }
            }
        }
        return 0;
    }

    private Path locate(String arg) {
        return org.chatglm4j.hub.ModelLocator.resolve(arg, revision, ctx.hubOptions(),
                new org.chatglm4j.hub.TextProgressListener(ctx.err(), ctx.stderrTerminal()));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private void report(String source, int t, double loadSeconds, ChatGlmModel model, List<Benchmark.Result> rs) {
        double[] prefill = rs.stream().mapToDouble(Benchmark.Result::prefillTokensPerSecond).toArray();
        double[] ttft = rs.stream().mapToDouble(r -> r.prefillSeconds() * 1000 / r.batch()).toArray();
        double[] step = rs.stream().mapToDouble(Benchmark.Result::decodeMillisPerStep).toArray();
        double[] tps = rs.stream().mapToDouble(Benchmark.Result::decodeTokensPerSecond).toArray();
        double[] gbps = rs.stream().mapToDouble(Benchmark.Result::weightReadGBps).toArray();
        long rss = Benchmark.peakRss();
        long bytes = rs.getFirst().weightBytesPerToken();
        org.chatglm4j.tensor.WeightMatrix linear = model.weights().layers()[0].queryKeyValue().weight();
        String kernels = org.chatglm4j.tensor.Activations.describe(linear);
        if (json) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.put("model", source);
            o.put("threads", t);
            o.put("prompt_tokens", promptTokens);
            o.put("new_tokens", newTokens);
            o.put("batch", batch);
            o.put("num_beams", numBeams);
            o.put("kv_cache", kvCache.name().toLowerCase(Locale.ROOT));
            o.put("cpu", org.chatglm4j.tensor.Activations.cpu());
            o.put("activations", org.chatglm4j.tensor.Activations.of(linear).name().toLowerCase(Locale.ROOT));
            o.put("load_s", loadSeconds);
            o.put("prefill_tok_s", median(prefill));
            o.put("ttft_ms", median(ttft));
            o.put("decode_ms_per_step", median(step));
            o.put("decode_tok_s", median(tps));
            o.put("weight_bytes_per_token", bytes);
            o.put("weight_read_gb_s", median(gbps));
            if (!Double.isNaN(probeGBps)) {
                o.put("probe_read_gb_s", probeGBps);
                o.put("bandwidth_fraction", median(gbps) / probeGBps);
            }
            o.put("peak_rss_bytes", rss);
            o.put("rss_after_load_bytes", rssAfterLoad);
            o.put("heap_after_load_bytes", heapAfterLoad);
            o.putPOJO("prefill_tok_s_all", prefill);
            o.putPOJO("decode_ms_per_step_all", step);
            ctx.out().println(o);
        } else {
            ctx.out().printf(Locale.ROOT, """
                    model            %s
                    threads          %d   batch %d   beams %d   prompt %d tokens   generated %d tokens   kv cache %s
                    kernels          %s
                    load             %.2f s
                    prefill          %.2f tokens/s (median of %d; min %.2f, max %.2f)
                    time to 1st tok  %.0f ms
                    decode           %.1f ms/step, %.2f tokens/s (min %.1f, max %.1f ms/step)
                    weights/token    %s read per step = %.1f GB/s%s
                    peak RSS         %s   (after loading: RSS %s, Java heap in use %s)
                    """, source, t, batch, numBeams, promptTokens, newTokens, kvCache, kernels, loadSeconds, median(prefill), rs.size(),
                    Arrays.stream(prefill).min().orElse(0), Arrays.stream(prefill).max().orElse(0), median(ttft),
                    median(step), median(tps), Arrays.stream(step).min().orElse(0), Arrays.stream(step).max().orElse(0),
                    Sizes.bytes(bytes), median(gbps), Double.isNaN(probeGBps) ? "" : String.format(Locale.ROOT,
                            " = %.0f %% of the READ bandwidth measured before loading (%.1f GB/s)",
                            100 * median(gbps) / probeGBps, probeGBps), Sizes.bytes(rss), Sizes.bytes(rssAfterLoad),
                    Sizes.bytes(heapAfterLoad));
        }
        ctx.out().flush();
    }
}
