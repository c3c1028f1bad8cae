package org.chatglm4j.model;

/** The weights of one GLM block. LayerNorm parameters are small and live on the heap as float32. */
public record LayerWeights(
        float[] inputLayernormWeight, float[] inputLayernormBias,
        Linear queryKeyValue,            // [3h, h], per head [q | k | v] (head-major, see Attention)
        Linear dense,                    // [h, h]
        float[] postAttentionLayernormWeight, float[] postAttentionLayernormBias,
        Linear denseHTo4h,               // [inner, h]
        Linear dense4hToH) {             // [h, inner]
}
