package org.chatglm4j.bench;

import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.LayerWeights;
import org.chatglm4j.model.Linear;
import org.chatglm4j.quant.QuantFormat;

import org.chatglm4j.tensor.F16;
import org.chatglm4j.tensor.F16Matrix;

import org.chatglm4j.tensor.Int4Matrix;
import org.chatglm4j.tensor.Int8Layout;
import org.chatglm4j.tensor.Int8Matrix;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tensor.Q4Layout;
import org.chatglm4j.tensor.Q4Matrix;
import org.chatglm4j.tensor.Q8Matrix;
import org.chatglm4j.tensor.WeightMatrix;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * Random weights of any geometry built straight into the target format, off the heap: what speed is measured
 * on (speed does not depend on weight values). Quantized formats get random codes and small random scales;
 * float formats get small normal values. Filling copies a random block at varying offsets, so building the
 * 6B geometry takes seconds, not minutes.
 */
public final class RandomModel {
    private static final int BLOCK = 1 << 22;

    private final MemorySegment noise;   // BLOCK + 64 random bytes
    private final MemorySegment halves;  // BLOCK/2 + 32 small normal fp16 values
    private final SplittableRandom rnd;

    private RandomModel(long seed, Arena arena) {
        rnd = new SplittableRandom(seed);
        noise = arena.allocate(BLOCK + 64);
        for (long i = 0; i < noise.byteSize(); i += 8) noise.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong());
        halves = arena.allocate(BLOCK + 64);
        for (long i = 0; i < halves.byteSize(); i += 2) {
            halves.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, F16.fromFloat((float) (rnd.nextGaussian() * 0.02)));
        }
    }

    /**
     * Weights of geometry {@code cfg}: linears in {@code linears}, word embeddings (= tied lm_head) in
     * {@code embeddings} (NONE = fp16), everything allocated in {@code arena}.
     */
    public static ChatGlmWeights create(ChatGlmConfig cfg, QuantFormat linears, QuantFormat embeddings, long seed,
                                        Arena arena, Parallel pool) {
        RandomModel r = new RandomModel(seed, arena);
        if (cfg.isGlm2()) return r.glm2(cfg, linears, embeddings, arena, pool);
        int h = cfg.hiddenSize(), inner = cfg.innerHiddenSize();
        WeightMatrix emb = r.matrix(cfg.vocabSize(), h, embeddings, arena, pool);
        LayerWeights[] layers = new LayerWeights[cfg.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new LayerWeights(r.ones(h), r.small(h),
                    new Linear(r.matrix(3 * h, h, linears, arena, pool), r.small(3 * h)),
                    new Linear(r.matrix(h, h, linears, arena, pool), r.small(h)),
                    r.ones(h), r.small(h),
                    new Linear(r.matrix(inner, h, linears, arena, pool), r.small(inner)),
                    new Linear(r.matrix(h, inner, linears, arena, pool), r.small(h)));
        }
        return new ChatGlmWeights(cfg, emb, layers, r.ones(h), r.small(h), emb);
    }

    /** ChatGLM2/3: RMSNorm weights only, QKV with bias, biasless dense and SwiGLU, an untied output layer. */
    private ChatGlmWeights glm2(ChatGlmConfig cfg, QuantFormat linears, QuantFormat embeddings, Arena arena,
                                Parallel pool) {
        int h = cfg.hiddenSize(), f = cfg.innerHiddenSize(), p = cfg.projectionSize(), qkv = cfg.qkvSize();
        WeightMatrix emb = matrix(cfg.vocabSize(), h, embeddings, arena, pool);
        LayerWeights[] layers = new LayerWeights[cfg.numLayers()];
        for (int l = 0; l < layers.length; l++) {
            layers[l] = new LayerWeights(ones(h), null,
                    new Linear(matrix(qkv, h, linears, arena, pool), small(qkv)),
                    new Linear(matrix(h, p, linears, arena, pool), null),
                    ones(h), null,
                    new Linear(matrix(2 * f, h, linears, arena, pool), null),
                    new Linear(matrix(h, f, linears, arena, pool), null));
        }
        return new ChatGlmWeights(cfg, emb, layers, ones(h), null, matrix(cfg.vocabSize(), h, embeddings, arena, pool));
    }

    private float[] ones(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = 1f + (float) (rnd.nextGaussian() * 0.1);
        return v;
    }

    private float[] small(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian() * 0.05);
        return v;
    }

    WeightMatrix matrix(int rows, int cols, QuantFormat format, Arena arena, Parallel pool) {
        return switch (format) {
            case NONE -> new F16Matrix(fill(arena, 2L * rows * cols, halves, pool), rows, cols);
            case INT8 -> new Int8Matrix(fill(arena, rows * Int8Layout.rowBytes(cols), noise, pool), scales(rows, 0.002f), rows, cols);
            case INT4 -> new Int4Matrix(fill(arena, rows * Q4Layout.rowBytes(cols), noise, pool), scales(rows, 0.02f), rows, cols);
            case Q8 -> new Q8Matrix(fill(arena, rows * Int8Layout.rowBytes(cols), noise, pool),
                    halfScales(arena, Q8Matrix.scaleBytes(rows, cols), 0.002f), rows, cols);
            case Q4 -> new Q4Matrix(fill(arena, rows * Q4Layout.rowBytes(cols), noise, pool),
                    halfScales(arena, Q8Matrix.scaleBytes(rows, cols), 0.02f), rows, cols);
        };
    }

    private float[] scales(int n, float base) {
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = base * (0.5f + (float) rnd.nextDouble());
        return s;
    }

    private MemorySegment halfScales(Arena arena, long bytes, float base) {
        MemorySegment s = arena.allocate(bytes, 64);
        for (long i = 0; i < bytes; i += 2) {
            s.set(ValueLayout.JAVA_SHORT_UNALIGNED, i, F16.fromFloat(base * (0.5f + (float) rnd.nextDouble())));
        }
        return s;
    }

    /** {@code bytes} of off-heap memory filled with copies of {@code source} at shifting offsets, in parallel. */
    private MemorySegment fill(Arena arena, long bytes, MemorySegment source, Parallel pool) {
        MemorySegment seg = arena.allocate(bytes, 64);
        long chunks = (bytes + BLOCK - 1) / BLOCK;
        long salt = rnd.nextLong();
        pool.forRange((int) chunks, 1, (c0, c1, w) -> {
            for (long c = c0; c < c1; c++) {
                long at = c * BLOCK, n = Math.min(BLOCK, bytes - at);
                long shift = Math.floorMod((c * 0x9E3779B97F4A7C15L) ^ salt, 32) * 2;   // even: keeps fp16 values whole
                MemorySegment.copy(source, shift, seg, at, n);
            }
        });
        return seg;
    }

}
