package org.chatglm4j.model;

import org.chatglm4j.ChatGlmException;

/**
 * Where a prompt's context ends and where its mask token sits, which fix its position ids and attention mask.
 *
 * @param contextLength index of the first {@code <sop>} (the context is everything before it)
 * @param maskPosition  index of the first {@code [gMASK]} if the prompt has one, else of the first {@code [MASK]}
 * @param useGmask      whether that mask token is {@code [gMASK]}
 */
public record PromptLayout(int contextLength, int maskPosition, boolean useGmask) {

    /** The reference fails on prompts without {@code <sop>} or without a mask token; we say so clearly. */
    public static PromptLayout of(int[] ids, ChatGlmConfig cfg) {
        int sop = indexOf(ids, cfg.bosTokenId());
        if (sop < 0) {
            throw new ChatGlmException("input ids contain no <sop> (id " + cfg.bosTokenId()
                    + "): ChatGLM needs it to know where the context ends; prompts from the tokenizer end with [gMASK] <sop>");
        }
        int gmask = indexOf(ids, cfg.gmaskTokenId());
        int mask = gmask >= 0 ? gmask : indexOf(ids, cfg.maskTokenId());
        if (mask < 0) {
            throw new ChatGlmException("input ids contain neither [gMASK] (id " + cfg.gmaskTokenId()
                    + ") nor [MASK] (id " + cfg.maskTokenId() + ")");
        }
        return new PromptLayout(sop, mask, gmask >= 0);
    }

    private static int indexOf(int[] ids, int id) {
        for (int i = 0; i < ids.length; i++) if (ids[i] == id) return i;
        return -1;
    }

    /**
     * Position ids of the prompt. 2D: {@code i} inside the context, the mask position after it. 1D: {@code i},
     * except that with {@code [MASK]} (no {@code [gMASK]}) positions after the context are the mask position.
     */
    public int[] positions(int n, boolean twoD) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i >= contextLength && (twoD || !useGmask) ? maskPosition : i;
        }
        return p;
    }

    /** Block position ids (2D only): 0 inside the context, then 1, 2, 3, ... from {@code <sop>} on. */
    public int[] blockPositions(int n) {
        int[] b = new int[n];
        for (int i = contextLength; i < n; i++) b[i] = i - contextLength + 1;
        return b;
    }

    /** The prompt's attention mask: bidirectional context, causal from {@code <sop>} on. */
    public AttentionMask mask() {
        return AttentionMask.prompt(contextLength);
    }

    /**
     * Position id of a token generated with the KV cache: always the mask position — for 1D models too, even
     * with {@code [gMASK]}, so cached 1D decoding differs from re-running the longer sequence (as the reference).
     */
    public int decodePosition() {
        return maskPosition;
    }

    /** Block position id of a generated token when the sequence, that token included, is {@code length} long. */
    public int decodeBlockPosition(int length) {
        return length - contextLength;
    }
}
