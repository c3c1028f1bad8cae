package org.chatglm4j.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.chatglm4j.tensor.Lanes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The keys and values of one sequence, for every layer, stored head-major in blocks of {@link #BLOCK} positions:
 * block b of a layer holds {@code [heads][BLOCK][headSize]} values, so one head's keys are read sequentially by
 * the attention loops and the cache grows by blocks instead of being preallocated for the whole context.
 * Positions {@code [0, prefixLength)} hold P-Tuning v2 prefix keys/values when there is a prefix encoder.
 *
 * <p>Values are float32, or fp16 ({@link Precision#F16}) to halve the memory and the bytes attention reads at long
 * contexts, at the cost of rounding keys and values to half precision. They live off the Java heap, so that a long
 * conversation costs exactly its cache and no garbage-collector headroom; {@link #close()} gives the memory back.
 *
 * <p>{@link #fork()} makes a second cache with the same contents at the cost of a reference per block: the blocks
 * are shared (copy-on-write) until one of the caches writes into a shared block, which {@link #reserve} then
 * copies first — only the positions already in it. Beam search reorders its beams' caches this way: a beam that
 * continues twice forks, and per step at most one partly filled block per forked beam is copied, never the whole
 * cache as the reference's {@code index_select} does.
 */
public final class KvCache implements AutoCloseable {
    /** Positions per block: the unit in which a cache grows and forks share memory. */
    public static final int BLOCK = 64;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;

    /**
     * Storage precision of the cached keys and values. {@code AUTO} is a choice made when a model loads
     * ({@link #resolve}): float32 where its cache is small (exact, as the reference), fp16 where it is large.
     */
    public enum Precision {
        /** float32: exact, as the reference. */
        F32,
        /** fp16: half the memory and the bytes attention reads, keys and values rounded to half precision. */
        F16,
        /** Chosen per model when it loads ({@link #resolve}); a cache itself is never {@code AUTO}. */
        AUTO;

        /** Caches that would take at most this much in float32 at the model's full context stay float32. */
        public static final long AUTO_F32_LIMIT = 256L << 20;

        /** {@code AUTO} resolved for {@code config}; any other precision as it is. */
        public Precision resolve(ChatGlmConfig config) {
            if (this != AUTO) return this;
            long f32 = 2L * config.numLayers() * config.kvWidth() * Float.BYTES
                    * (config.maxSequenceLength() + (long) config.preSeqLen());
            return f32 <= AUTO_F32_LIMIT ? F32 : F16;
        }
    }

    private final int layers;
    private final int heads;
    private final int headSize;
    private final int blockValues;
    private final Precision precision;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final KvBlockPool pool;
    private final int valueBytes;
    private KvBlockPool.Block[] owned = new KvBlockPool.Block[0];   // [block], possibly shared with forks
    private MemorySegment[][] keys, values;   // [layer][block]: the owned blocks' segments, for the hot loops
    private int blocks;
    private int length;
    private int prefixLength;
    private boolean closed;

    /**
     * An empty cache of {@code layers} layers, {@code heads} key/value heads of {@code headSize} values (a multiple
     * of 8) each, in off-heap memory that {@link #close()} frees. {@code precision} must not be {@code AUTO}. Not
     * thread-safe.
     */
    public KvCache(int layers, int heads, int headSize, Precision precision) {
        if (headSize % 8 != 0) throw new IllegalArgumentException("head size must be a multiple of 8, got " + headSize);
        this.layers = layers;
        this.heads = heads;
        this.headSize = headSize;
        this.blockValues = heads * BLOCK * headSize;
        if (precision == Precision.AUTO) throw new IllegalArgumentException("resolve AUTO before making a cache");
        this.precision = precision;
        this.valueBytes = precision == Precision.F32 ? 4 : 2;
        this.pool = new KvBlockPool(layers, (long) blockValues * valueBytes);
        this.keys = new MemorySegment[layers][0];
        this.values = new MemorySegment[layers][0];
        pool.attach();
    }

    /** A fork: the same positions, sharing {@code source}'s blocks. */
    private KvCache(KvCache source) {
        this.layers = source.layers;
        this.heads = source.heads;
        this.headSize = source.headSize;
        this.blockValues = source.blockValues;
        this.precision = source.precision;
        this.valueBytes = source.valueBytes;
        this.pool = source.pool;
        this.owned = source.owned.clone();
        this.blocks = source.blocks;
        this.keys = new MemorySegment[layers][];
        this.values = new MemorySegment[layers][];
        for (int l = 0; l < layers; l++) {
            keys[l] = source.keys[l].clone();
            values[l] = source.values[l].clone();
        }
        this.length = source.length;
        this.prefixLength = source.prefixLength;
        pool.attach();
        for (int b = 0; b < blocks; b++) pool.retain(owned[b]);
    }

    /**
     * A second cache holding the same positions (prefix included), sharing this one's memory until either writes
     * (copy-on-write by block). Costs one reference per block; each cache must be {@link #close() closed}.
     */
    public KvCache fork() {
        if (closed) throw new IllegalStateException("cache is closed");
        return new KvCache(this);
    }

    /** Storage precision of the keys and values (never {@code AUTO}). */
    public Precision precision() {
        return precision;
    }

    /** Positions filled, prefix included. */
    public int length() {
        return length;
    }

    /** Positions holding P-Tuning v2 prefix keys/values, at the start of the cache; 0 without a prefix. */
    public int prefixLength() {
        return prefixLength;
    }

    /** Tokens cached, prefix excluded. */
    public int tokens() {
        return length - prefixLength;
    }

    /** Bytes held by the allocated blocks (a block shared with a fork counts in both). */
    public long bytes() {
        return 2L * layers * blocks * blockValues * valueBytes;
    }

    /** Blocks the family of this cache (it and its forks) has allocated, in use or free for reuse. */
    int familyBlocks() {
        return pool.allocated();
    }

    /**
     * Makes room for {@code positions} positions in total, and makes positions {@code [length, positions)}
     * writable: a block there that is shared with a fork is replaced by a private copy of its filled positions.
     */
    public void reserve(int positions) {
        if (closed) throw new IllegalStateException("cache is closed");
        int need = (positions + BLOCK - 1) / BLOCK;
        for (int b = length / BLOCK; b < Math.min(need, blocks); b++) {
            if (pool.shared(owned[b])) unshare(b);
        }
        if (need <= blocks) return;
        owned = Arrays.copyOf(owned, need);
        for (int l = 0; l < layers; l++) {
            keys[l] = Arrays.copyOf(keys[l], need);
            values[l] = Arrays.copyOf(values[l], need);
        }
        for (int b = blocks; b < need; b++) install(b, pool.allocate());
        blocks = need;
    }

    /** Copy-on-write of block {@code b}: a private block with the positions of it below {@code length}. */
    private void unshare(int b) {
        KvBlockPool.Block old = owned[b], copy = pool.allocate();
        int filled = Math.clamp(length - b * BLOCK, 0, BLOCK);
        if (filled > 0) {
            long bytes = (long) filled * headSize * valueBytes;
            for (int l = 0; l < layers; l++) {
                for (int hh = 0; hh < heads; hh++) {   // a head's positions are contiguous in a block
                    long at = (long) hh * BLOCK * headSize * valueBytes;
                    MemorySegment.copy(old.keys[l], at, copy.keys[l], at, bytes);
                    MemorySegment.copy(old.values[l], at, copy.values[l], at, bytes);
                }
            }
        }
        install(b, copy);
        pool.release(old);
    }

    private void install(int b, KvBlockPool.Block block) {
        owned[b] = block;
        for (int l = 0; l < layers; l++) {
            keys[l][b] = block.keys[l];
            values[l][b] = block.values[l];
        }
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
        int o = offset(pos, h), b = pos / BLOCK;
        MemorySegment kb = keys[layer][b], vb = values[layer][b];
        if (precision == Precision.F32) {
            MemorySegment.copy(k, kOff, kb, FLOAT, 4L * o, headSize);
            MemorySegment.copy(v, vOff, vb, FLOAT, 4L * o, headSize);
        } else {
            for (int d = 0; d < headSize; d++) {
                kb.set(HALF, 2L * (o + d), Float.floatToFloat16(k[kOff + d]));
                vb.set(HALF, 2L * (o + d), Float.floatToFloat16(v[vOff + d]));
            }
        }
    }

    /** Offset of (pos, head) inside its block. */
    private int offset(int pos, int h) {
        return (h * BLOCK + pos % BLOCK) * headSize;
    }

    /** {@code out[c] = q·K[c]} for the first {@code keys} positions of head {@code h} in {@code layer}. */
    void scores(int layer, int h, float[] q, int keys, float[] out) {
        for (int c0 = 0; c0 < keys; c0 += BLOCK) {
            int n = Math.min(BLOCK, keys - c0), base = offset(c0, h);
            MemorySegment kb = this.keys[layer][c0 / BLOCK];
            if (precision == Precision.F32) {
                for (int i = 0; i < n; i++) {
                    long ko = 4L * (base + i * headSize);
                    FloatVector acc = FloatVector.zero(F);
                    for (int d = 0; d < headSize; d += 8) {
                        acc = FloatVector.fromArray(F, q, d).fma(FloatVector.fromMemorySegment(F, kb, ko + 4L * d, ByteOrder.LITTLE_ENDIAN), acc);
                    }
                    out[c0 + i] = Lanes.sum(acc);
                }
            } else {
                for (int i = 0; i < n; i++) {
                    long ko = 2L * (base + i * headSize);
                    FloatVector acc = FloatVector.zero(F);
                    for (int d = 0; d < headSize; d += 8) {
                        IntVector x = (IntVector) ShortVector.fromMemorySegment(S, kb, ko + 2L * d, ByteOrder.LITTLE_ENDIAN)
                                .convertShape(VectorOperators.S2I, I, 0);
                        IntVector mag = x.and(0x7FFF);
                        IntVector sh = mag.lanewise(VectorOperators.LSHL, 13);
                        IntVector bits = sh.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                                .blend(sh.or(0x7F800000), mag.compare(VectorOperators.GE, 0x7C00));
                        FloatVector kv = bits.or(x.and(0x80000000)).reinterpretAsFloats();
                        acc = FloatVector.fromArray(F, q, d).fma(kv, acc);
                    }
                    out[c0 + i] = Lanes.sum(acc);
                }
            }
        }
    }

    /** {@code out[oo…] += Σ_c p[c]·V[c]} over the first {@code keys} positions of head {@code h} in {@code layer}. */
    void weightedValues(int layer, int h, float[] p, int keys, float[] out, int oo) {
        for (int c0 = 0; c0 < keys; c0 += BLOCK) {
            int n = Math.min(BLOCK, keys - c0), base = offset(c0, h);
            MemorySegment vb = values[layer][c0 / BLOCK];
            if (precision == Precision.F32) {
                for (int d = 0; d < headSize; d += 8) {
                    FloatVector acc = FloatVector.fromArray(F, out, oo + d);
                    for (int i = 0; i < n; i++) {
                        acc = FloatVector.fromMemorySegment(F, vb, 4L * (base + i * headSize + d), ByteOrder.LITTLE_ENDIAN)
                                .fma(FloatVector.broadcast(F, p[c0 + i]), acc);
                    }
                    acc.intoArray(out, oo + d);
                }
            } else {
                for (int d = 0; d < headSize; d += 8) {
                    FloatVector acc = FloatVector.fromArray(F, out, oo + d);
                    for (int i = 0; i < n; i++) {
                        IntVector x = (IntVector) ShortVector.fromMemorySegment(S, vb, 2L * (base + i * headSize + d),
                                ByteOrder.LITTLE_ENDIAN).convertShape(VectorOperators.S2I, I, 0);
                        IntVector mag = x.and(0x7FFF);
                        IntVector sh = mag.lanewise(VectorOperators.LSHL, 13);
                        IntVector bits = sh.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                                .blend(sh.or(0x7F800000), mag.compare(VectorOperators.GE, 0x7C00));
                        FloatVector vv = bits.or(x.and(0x80000000)).reinterpretAsFloats();
                        acc = vv.fma(FloatVector.broadcast(F, p[c0 + i]), acc);
                    }
                    acc.intoArray(out, oo + d);
                }
            }
        }
    }

    /**
     * Multi-query attention scores: {@code out[j·stride + c] = q_j·K[c]} for the {@code nq} queries at
     * {@code q[qOff + j·headSize]} that share key/value head {@code h}, over its first {@code keys} positions. Each
     * key is read from the cache once for all the queries (it stays in L1 between them), so heads sharing a group
     * cost one pass over the group's keys, not one per head. {@code kbuf} holds {@code headSize} floats.
     */
    void scoresShared(int layer, int h, float[] q, int qOff, int nq, int keys, float[] out, int stride, float[] kbuf) {
        for (int c0 = 0; c0 < keys; c0 += BLOCK) {
            int n = Math.min(BLOCK, keys - c0), base = offset(c0, h);
            MemorySegment kb = this.keys[layer][c0 / BLOCK];
            for (int i = 0; i < n; i++) {
                readRow(kb, base + i * headSize, kbuf);
                for (int j = 0; j < nq; j++) {
                    int qo = qOff + j * headSize;
                    FloatVector acc = FloatVector.zero(F);
                    for (int d = 0; d < headSize; d += 8) {
                        acc = FloatVector.fromArray(F, q, qo + d).fma(FloatVector.fromArray(F, kbuf, d), acc);
                    }
                    out[j * stride + c0 + i] = Lanes.sum(acc);
                }
            }
        }
    }

    /**
     * {@code out[oOff + j·oStride …] += Σ_c p[j·pStride + c]·V[c]} for the {@code nq} queries sharing head {@code h}:
     * each value row is read once for all of them. {@code vbuf} holds {@code headSize} floats.
     */
    void weightedValuesShared(int layer, int h, float[] p, int pStride, int nq, int keys, float[] out, int oOff,
                              int oStride, float[] vbuf) {
        for (int c0 = 0; c0 < keys; c0 += BLOCK) {
            int n = Math.min(BLOCK, keys - c0), base = offset(c0, h);
            MemorySegment vb = values[layer][c0 / BLOCK];
            for (int i = 0; i < n; i++) {
                readRow(vb, base + i * headSize, vbuf);
                for (int j = 0; j < nq; j++) {
                    FloatVector w = FloatVector.broadcast(F, p[j * pStride + c0 + i]);
                    int oo = oOff + j * oStride;
                    for (int d = 0; d < headSize; d += 8) {
                        FloatVector.fromArray(F, vbuf, d).fma(w, FloatVector.fromArray(F, out, oo + d))
                                .intoArray(out, oo + d);
                    }
                }
            }
        }
    }

    /** One cached key or value row ({@code headSize} values at element offset {@code o}) as float32. */
    private void readRow(MemorySegment block, int o, float[] dst) {
        if (precision == Precision.F32) {
            MemorySegment.copy(block, FLOAT, 4L * o, dst, 0, headSize);
            return;
        }
        for (int d = 0; d < headSize; d += 8) {
            IntVector x = (IntVector) ShortVector.fromMemorySegment(S, block, 2L * (o + d), ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, I, 0);
            IntVector mag = x.and(0x7FFF);
            IntVector sh = mag.lanewise(VectorOperators.LSHL, 13);
            IntVector bits = sh.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                    .blend(sh.or(0x7F800000), mag.compare(VectorOperators.GE, 0x7C00));
            bits.or(x.and(0x80000000)).reinterpretAsFloats().intoArray(dst, d);
        }
    }

    /** Frees the cache's memory; the cache must not be used afterwards. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (int b = 0; b < blocks; b++) pool.release(owned[b]);
        owned = new KvBlockPool.Block[0];
        blocks = 0;
        for (int l = 0; l < layers; l++) keys[l] = values[l] = new MemorySegment[0];   // blocks may be reused
        pool.detach();
    }
}
