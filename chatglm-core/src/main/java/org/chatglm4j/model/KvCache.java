package org.chatglm4j.model;

/**
 * The keys and values of one sequence, for every layer, stored head-major in blocks of {@link #BLOCK} positions:
 * block b of a layer holds {@code [heads][BLOCK][headSize]} floats, so one head's keys are read sequentially by
 * the attention loop and the cache grows by blocks instead of being preallocated for the whole context.
 * Positions {@code [0, prefixLength)} hold P-Tuning v2 prefix keys/values when there is a prefix encoder.
 */
public final class KvCache {
    public static final int BLOCK = 64;

    private final int layers;
    private final int heads;
    private final int headSize;
    private final int blockFloats;
    private float[][][] keys;   // [layer][block][heads·BLOCK·headSize]
    private float[][][] values;
    private int blocks;
    private int length;
    private int prefixLength;

    public KvCache(int layers, int heads, int headSize) {
        this.layers = layers;
        this.heads = heads;
        this.headSize = headSize;
        this.blockFloats = heads * BLOCK * headSize;
        this.keys = new float[layers][0][];
        this.values = new float[layers][0][];
    }

    /** Positions filled, prefix included. */
    public int length() {
        return length;
    }

    public int prefixLength() {
        return prefixLength;
    }

    /** Tokens cached, prefix excluded. */
    public int tokens() {
        return length - prefixLength;
    }

    /** Bytes held by the allocated blocks. */
    public long bytes() {
        return 2L * layers * blocks * blockFloats * Float.BYTES;
    }

    /** Makes room for {@code positions} positions in total. */
    public void reserve(int positions) {
        int need = (positions + BLOCK - 1) / BLOCK;
        if (need <= blocks) return;
        for (int l = 0; l < layers; l++) {
            keys[l] = java.util.Arrays.copyOf(keys[l], need);
            values[l] = java.util.Arrays.copyOf(values[l], need);
            for (int b = blocks; b < need; b++) {
                keys[l][b] = new float[blockFloats];
                values[l][b] = new float[blockFloats];
            }
        }
        blocks = need;
    }

    /** Drops everything after the first {@code positions} positions (never the prefix). */
    public void truncate(int positions) {
        if (positions < prefixLength || positions > length) {
            throw new IllegalArgumentException("cannot truncate a cache of " + length + " to " + positions);
        }
        length = positions;
    }

    /** Forgets every token, keeping the P-tuning prefix: the cache can serve a new sequence. */
    public void reset() {
        length = prefixLength;
    }

    /** Marks positions {@code [length, length + n)} as written (after every layer stored them). */
    void advance(int n) {
        length += n;
    }

    /** Declares the first {@code n} positions (already stored) to be the prompt prefix. */
    void markPrefix(int n) {
        if (length != n) throw new IllegalStateException("prefix must be stored first");
        prefixLength = n;
    }

    /** Stores head {@code h}'s key and value for {@code pos} of layer {@code layer}. */
    void put(int layer, int pos, int h, float[] k, int kOff, float[] v, int vOff) {
        int o = offset(pos, h);
        System.arraycopy(k, kOff, keys[layer][pos / BLOCK], o, headSize);
        System.arraycopy(v, vOff, values[layer][pos / BLOCK], o, headSize);
    }

    float[] keyBlock(int layer, int block) {
        return keys[layer][block];
    }

    float[] valueBlock(int layer, int block) {
        return values[layer][block];
    }

    /** Offset of (pos, head) inside its block. */
    int offset(int pos, int h) {
        return (h * BLOCK + pos % BLOCK) * headSize;
    }

    int headSize() {
        return headSize;
    }
}
