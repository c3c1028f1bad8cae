package org.chatglm4j.model;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * The off-heap memory of a family of {@link KvCache}s: a cache and the forks made from it (the beams of a beam
 * search) share blocks of {@link KvCache#BLOCK} positions, counted by reference. A block nobody holds goes on a
 * free list and is handed out again, so a family holds at most its peak number of live blocks; the arena is
 * closed with the family's last cache. Calls are synchronized (cheap: a family is used by one thread at a time).
 */
final class KvBlockPool {

    /** The keys and values of {@link KvCache#BLOCK} positions in every layer. */
    static final class Block {
        final MemorySegment[] keys, values;   // [layer], each heads·BLOCK·headSize values
        int refs;

        private Block(MemorySegment[] keys, MemorySegment[] values) {
            this.keys = keys;
            this.values = values;
        }
    }

    private final Arena arena = Arena.ofShared();
    private final int layers;
    private final long blockBytes;
    private final ArrayDeque<Block> free = new ArrayDeque<>();
    private int caches;
    private int allocated;

    KvBlockPool(int layers, long blockBytes) {
        this.layers = layers;
        this.blockBytes = blockBytes;
    }

    /** A block held once (by the caller), its contents undefined. */
    synchronized Block allocate() {
        Block b = free.poll();
        if (b == null) {
            MemorySegment[] k = new MemorySegment[layers], v = new MemorySegment[layers];
            for (int l = 0; l < layers; l++) {
                k[l] = arena.allocate(blockBytes, 64);
                v[l] = arena.allocate(blockBytes, 64);
            }
            b = new Block(k, v);
            allocated++;
        }
        b.refs = 1;
        return b;
    }

    synchronized void retain(Block b) {
        b.refs++;
    }

    synchronized boolean shared(Block b) {
        return b.refs > 1;
    }

    synchronized void release(Block b) {
        if (--b.refs == 0) free.push(b);
    }

    /** Blocks allocated so far (in use or free). */
    synchronized int allocated() {
        return allocated;
    }

    /** A cache starts using this pool. */
    synchronized void attach() {
        caches++;
    }

    /** A cache is closed: the memory goes back with the last one. */
    synchronized void detach() {
        if (--caches == 0) arena.close();
    }
}
