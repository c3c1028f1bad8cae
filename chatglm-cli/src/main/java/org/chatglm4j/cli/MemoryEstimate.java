package org.chatglm4j.cli;

import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.KvCache;

/**
 * What running a model costs in memory, from its configuration. Weights stay memory-mapped (the OS page cache
 * holds them, outside the Java heap) and the KV cache is off-heap too; the scratch buffers of a forward pass are
 * float32 arrays on the heap. The scratch figures mirror the buffers {@code Runner} allocates, roughly. The
 * predicted peak RSS of one conversation at {@code maxLength} is weights + KV cache + heap.
 *
 * @param kvPrecision     the cache's element type (the commands that chat default to fp16)
 * @param vectorBytes     LayerNorm parameters and biases, copied to the heap as float32
 * @param kvBytesPerToken keys and values of one position, all layers
 * @param kvBytesAtMax    the cache of one sequence of {@code maxLength} positions (blocks of 64), prefix included
 * @param workingBytes    scratch of a forward pass over a {@code maxLength}-token prompt, plus sampling buffers
 */
record MemoryEstimate(int maxLength, int threads, KvCache.Precision kvPrecision, long vectorBytes,
                      long kvBytesPerToken, long kvBytesAtMax, long workingBytes) {

    /** Room for the JVM itself, the tokenizer and the class data on top of the model's arrays. */
    static final long JVM_OVERHEAD = 256L << 20;
    // Runner's chunk sizes: MLP rows per chunk and output rows whose logits are computed at once
    private static final int MLP_CHUNK = 128;
    private static final int QKV_CHUNK = 128;
    private static final int LOGIT_CHUNK = 8;

    static MemoryEstimate of(ChatGlmConfig c, int maxLength, int threads, KvCache.Precision kvPrecision) {
        long h = c.hiddenSize(), inner = c.innerHiddenSize(), vocab = c.vocabSize(), layers = c.numLayers();
        long vectors = layers * (4 * h + 3 * h + h + inner + h) + 2 * h;
        // v2: key/value groups only
        long perToken = 2 * layers * c.kvWidth() * (kvPrecision == KvCache.Precision.F32 ? Float.BYTES : 2);
        long positions = (long) maxLength + c.preSeqLen();
        long blocks = (positions + KvCache.BLOCK - 1) / KvCache.BLOCK;
        long kvAtMax = blocks * KvCache.BLOCK * perToken;
        long angles = c.rotaryDim() / 2;
        long rows = maxLength;
        // v1: hidden states, queries/contexts, block outputs, plus one q/k/v chunk; v2: hidden, normed, qkv, ctx, out
        long perRow = c.isGlm2() ? 4 * h + c.qkvSize() : 3 * h;
        long qkvChunk = c.isGlm2() ? 0 : 2L * QKV_CHUNK * 3 * h;
        long scratch = rows * (perRow + 4 * angles + 1) + qkvChunk   // hidden states, qkv, rotary tables
                + MLP_CHUNK * inner                                  // MLP chunk
                + LOGIT_CHUNK * (h + vocab)                          // output rows
                + threads * (positions + c.headSize() + 4096)        // attention scores, query, matmul tiles
                + 6 * vocab;                                         // score pipeline and sampling (sorting keys)
        return new MemoryEstimate(maxLength, threads, kvPrecision, vectors * Float.BYTES, perToken, kvAtMax,
                scratch * Float.BYTES);
    }

    /** The float32 KV cache of one sequence of {@code length} positions (blocks of 64), prefix included. */
    static long kvBytesAt(ChatGlmConfig c, int length) {
        long positions = (long) length + c.preSeqLen();
        long blocks = (positions + KvCache.BLOCK - 1) / KvCache.BLOCK;
        return blocks * KvCache.BLOCK * 2L * c.numLayers() * c.kvWidth() * Float.BYTES;
    }

    /** Heap for one conversation at {@code maxLength}: what to give -Xmx (the KV cache is off-heap). */
    long heapBytes() {
        return vectorBytes + workingBytes + JVM_OVERHEAD;
    }

    /** Peak resident memory of one conversation at {@code maxLength} with {@code weightBytes} of weights. */
    long peakRssBytes(long weightBytes) {
        return weightBytes + kvBytesAtMax + heapBytes();
    }

    /** {@link #heapBytes()} as a -Xmx value, rounded up to whole GiB (at least 1g). */
    String suggestedXmx() {
        long gib = Math.max(1, (heapBytes() + (1L << 30) - 1) >> 30);
        return "-Xmx" + gib + "g";
    }
}
