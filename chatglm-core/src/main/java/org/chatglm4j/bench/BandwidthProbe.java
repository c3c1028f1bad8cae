package org.chatglm4j.bench;

import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;
import org.chatglm4j.tensor.Parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Memory READ bandwidth, the way STREAM's READ kernel measures it: every thread of the compute pool sums its share
 * of an off-heap buffer far larger than the caches, best of a few passes. Decode of the quantized formats streams
 * its weights once per token, so {@code weight bytes per token / decode time} over this figure is the fraction of
 * the machine's bandwidth decode uses.
 */
public final class BandwidthProbe {
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    /** Bytes read per pass: far past any last-level cache. */
    public static final long BYTES = 256L << 20;
    private static final int PASSES = 5;
    private static final int CHUNK = 1 << 20;

    private BandwidthProbe() {
    }

    /** Best READ bandwidth over {@link #PASSES} passes, in GB/s (10^9 bytes), with every thread of {@code pool}. */
    public static double readGBps(Parallel pool) {
        try (Arena arena = Arena.ofShared()) {   // the pool's threads read it
            MemorySegment buf = arena.allocate(BYTES, 4096);
            buf.fill((byte) 1);   // fault the pages in: their first touch is not a read
            int chunks = (int) (BYTES / CHUNK);
            int[] sink = new int[pool.threads()];
            double best = 0;
            for (int pass = 0; pass < PASSES; pass++) {
                long t0 = System.nanoTime();
                pool.forRange(chunks, 1, (start, end, worker) -> {
                    IntVector a = IntVector.zero(I), b = a, c = a, d = a;
                    for (long off = (long) start * CHUNK; off < (long) end * CHUNK; off += 128) {
                        a = a.add(IntVector.fromMemorySegment(I, buf, off, ByteOrder.LITTLE_ENDIAN));
                        b = b.add(IntVector.fromMemorySegment(I, buf, off + 32, ByteOrder.LITTLE_ENDIAN));
                        c = c.add(IntVector.fromMemorySegment(I, buf, off + 64, ByteOrder.LITTLE_ENDIAN));
                        d = d.add(IntVector.fromMemorySegment(I, buf, off + 96, ByteOrder.LITTLE_ENDIAN));
                    }
                    sink[worker] += a.add(b).add(c.add(d)).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
                });
                long ns = System.nanoTime() - t0;
                if (pass > 0) best = Math.max(best, BYTES / (double) ns);   // the first pass warms up the JIT
            }
            if (sink[0] == 42) System.out.print("");   // keeps the sums alive
            return best;
        }
    }
}
