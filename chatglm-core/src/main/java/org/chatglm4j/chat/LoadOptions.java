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
 * @param chatFormat ChatGLM2/3 only: {@code glm2} or {@code glm3} to override the detected chat format, or null
 * @param repoId     the hub repo id the folder was resolved from (it names the family), or null
 */
public record LoadOptions(int threads, Path ptuning, QuantFormat quantize, QuantFormat embeddings,
                          KvCache.Precision kvCache, String chatFormat, String repoId) {
    /** Checks the thread count and fills in the defaults for null formats. */
    public LoadOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        if (quantize == null) quantize = QuantFormat.NONE;
        if (embeddings == null) embeddings = QuantFormat.NONE;
        if (kvCache == null) kvCache = KvCache.Precision.F32;
    }

    /** Options with the chat format detected and no hub repo id. */
    public LoadOptions(int threads, Path ptuning, QuantFormat quantize, QuantFormat embeddings,
                       KvCache.Precision kvCache) {
        this(threads, ptuning, quantize, embeddings, kvCache, null, null);
    }

    /** {@code glm2} / {@code glm3}: the chat format of a ChatGLM2/3 model, whatever its folder says. */
    public LoadOptions withChatFormat(String format) {
        return new LoadOptions(threads, ptuning, quantize, embeddings, kvCache, format, repoId);
    }

    /** The hub repo id the model folder came from ({@code THUDM/chatglm3-6b} names v3). */
    public LoadOptions withRepoId(String id) {
        return new LoadOptions(threads, ptuning, quantize, embeddings, kvCache, chatFormat, id);
    }

    /** The chat-format decision for a ChatGLM2/3 folder under these options. */
    public ChatFormatKind.Decision chatFormatFor(Path folder) {
        return ChatFormatKind.decide(chatFormat, repoId, folder);
    }

    /** All processors, no P-Tuning, weights as stored, float32 attention cache. */
    public static LoadOptions defaults() {
        return new LoadOptions(Runtime.getRuntime().availableProcessors(), null, QuantFormat.NONE, QuantFormat.NONE,
                KvCache.Precision.F32);
    }

    /** A copy with another thread count. */
    public LoadOptions withThreads(int n) {
        return new LoadOptions(n, ptuning, quantize, embeddings, kvCache, chatFormat, repoId);
    }

    /** A copy with a P-Tuning v2 checkpoint folder (null for none). */
    public LoadOptions withPtuning(Path p) {
        return new LoadOptions(threads, p, quantize, embeddings, kvCache, chatFormat, repoId);
    }

    /** A copy that quantizes the linear layers to {@code f} while loading. */
    public LoadOptions withQuantize(QuantFormat f) {
        return new LoadOptions(threads, ptuning, f, embeddings, kvCache, chatFormat, repoId);
    }

    /** A copy that quantizes the word embeddings to {@code f} while loading. */
    public LoadOptions withEmbeddings(QuantFormat f) {
        return new LoadOptions(threads, ptuning, quantize, f, kvCache, chatFormat, repoId);
    }

    /** A copy with another attention cache precision. */
    public LoadOptions withKvCache(KvCache.Precision p) {
        return new LoadOptions(threads, ptuning, quantize, embeddings, p, chatFormat, repoId);
    }
}
