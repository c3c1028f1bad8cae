package org.chatglm4j.chat;

import org.chatglm4j.model.KvCache;
import org.chatglm4j.quant.QuantFormat;

import java.nio.file.Path;

/**
 * How to load a model.
 *
 * @param threads    compute threads (default: available processors)
 * @param ptuning    a P-Tuning v2 checkpoint folder (config.json with pre_seq_len and the prefix encoder weights),
 *                   or null
 * @param quantize   format of the blocks' linear layers, quantized while loading (default: as stored)
 * @param embeddings format of the word embeddings / tied lm_head (default: as stored, like the reference)
 * @param kvCache    precision of the attention caches (default float32, exact; F16 halves their memory)
 */
public record LoadOptions(int threads, Path ptuning, QuantFormat quantize, QuantFormat embeddings,
                          KvCache.Precision kvCache) {
    /** Checks the thread count and fills in the defaults for null formats. */
    public LoadOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        if (quantize == null) quantize = QuantFormat.NONE;
        if (embeddings == null) embeddings = QuantFormat.NONE;
        if (kvCache == null) kvCache = KvCache.Precision.F32;
    }

    /** All processors, no P-Tuning, weights as stored, float32 attention cache. */
    public static LoadOptions defaults() {
        return new LoadOptions(Runtime.getRuntime().availableProcessors(), null, QuantFormat.NONE, QuantFormat.NONE,
                KvCache.Precision.F32);
    }

    /** A copy with another thread count. */
    public LoadOptions withThreads(int n) {
        return new LoadOptions(n, ptuning, quantize, embeddings, kvCache);
    }

    /** A copy with a P-Tuning v2 checkpoint folder (null for none). */
    public LoadOptions withPtuning(Path p) {
        return new LoadOptions(threads, p, quantize, embeddings, kvCache);
    }

    /** A copy that quantizes the linear layers to {@code f} while loading. */
    public LoadOptions withQuantize(QuantFormat f) {
        return new LoadOptions(threads, ptuning, f, embeddings, kvCache);
    }

    /** A copy that quantizes the word embeddings to {@code f} while loading. */
    public LoadOptions withEmbeddings(QuantFormat f) {
        return new LoadOptions(threads, ptuning, quantize, f, kvCache);
    }

    /** A copy with another attention cache precision. */
    public LoadOptions withKvCache(KvCache.Precision p) {
        return new LoadOptions(threads, ptuning, quantize, embeddings, p);
    }
}
