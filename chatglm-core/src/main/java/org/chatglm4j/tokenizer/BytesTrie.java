package org.chatglm4j.tokenizer;

import java.util.Arrays;

/**
 * A read-only trie over byte-string keys, stored as the keys sorted in unsigned lexicographic order: the keys
 * sharing a prefix form a contiguous range, and following one more byte narrows the range by binary search.
 * Walking from a text position costs O(depth · log n) and finds every key that is a prefix of the text there,
 * shortest first. Building needs only the sorted order ({@link #sortedOrder}), fast even for 130k pieces.
 */
final class BytesTrie {
    private final byte[][] keys;   // sorted
    private final int[] values;

    /**
     * @param allKeys keys indexed by value (e.g. piece bytes by id)
     * @param order   the values of the keys in this trie, sorted by their keys, without duplicate keys
     */
    BytesTrie(byte[][] allKeys, int[] order) {
        this.values = order.clone();
        this.keys = new byte[order.length][];
        for (int i = 0; i < order.length; i++) keys[i] = allKeys[order[i]];
    }

    int size() {
        return keys.length;
    }

    /**
     * Sorts {@code ids} by {@code keys[id]} in unsigned lexicographic byte order (at most {@link #MAX_KEYS} ids).
     * A multikey radix sort: each pass sorts one range by three key bytes packed into longs together with the
     * position ({@code byte + 1} per byte, 0 once the key has ended), with the JDK's primitive sort, then queues
     * the runs that agree on those bytes for the next three. No comparator, no boxing, no recursion (a worklist),
     * so long shared prefixes cannot overflow the stack. Equal keys end up adjacent.
     */
    static int[] sortedOrder(byte[][] keys, int[] ids) {
        if (ids.length > MAX_KEYS) throw new IllegalArgumentException("more than " + MAX_KEYS + " keys");
        int[] out = ids.clone();
        int[] scratch = new int[out.length];
        long[] packed = new long[out.length];
        int[] work = new int[48];
        int pending = 0;
        work[pending++] = 0;
        work[pending++] = out.length;
        work[pending++] = 0;
        while (pending > 0) {
            int depth = work[--pending];
            int to = work[--pending];
            int from = work[--pending];
            int n = to - from;
            if (n <= 8) {
                insertionSort(keys, out, from, to);
                continue;
            }
            for (int i = 0; i < n; i++) packed[from + i] = (chunk(keys[out[from + i]], depth) << INDEX_BITS) | i;
            Arrays.sort(packed, from, to);
            for (int i = 0; i < n; i++) scratch[from + i] = out[from + (int) (packed[from + i] & (MAX_KEYS - 1))];
            System.arraycopy(scratch, from, out, from, n);
            int runStart = from;
            long runChunk = packed[from] >>> INDEX_BITS;
            for (int i = from + 1; i <= to; i++) {
                long c = i < to ? packed[i] >>> INDEX_BITS : -1;
                if (c == runChunk) continue;
                // Keys that ended inside this chunk are equal in full; only runs of longer keys need more bytes.
                if (i - runStart > 1 && (runChunk & 0x1FF) != 0) {
                    if (pending + 3 > work.length) work = Arrays.copyOf(work, work.length * 2);
                    work[pending++] = runStart;
                    work[pending++] = i;
                    work[pending++] = depth + 3;
                }
                runStart = i;
                runChunk = c;
            }
        }
        return out;
    }

    private static final int INDEX_BITS = 23;
    static final int MAX_KEYS = 1 << INDEX_BITS;

    private static void insertionSort(byte[][] keys, int[] ids, int from, int to) {
        for (int i = from + 1; i < to; i++) {
            int id = ids[i];
            int j = i - 1;
            while (j >= from && Arrays.compareUnsigned(keys[ids[j]], keys[id]) > 0) {
                ids[j + 1] = ids[j];
                j--;
            }
            ids[j + 1] = id;
        }
    }

    /** Bytes depth, depth+1, depth+2 of a key as three 9-bit digits (byte + 1; 0 once the key has ended). */
    private static long chunk(byte[] key, int depth) {
        long c = 0;
        for (int k = depth; k < depth + 3; k++) c = (c << 9) | (k < key.length ? (key[k] & 0xFF) + 1 : 0);
        return c;
    }

    /** A walk position: the range of keys that start with the bytes followed so far. Reusable, not thread-safe. */
    final class Cursor {
        private int lo;
        private int hi;
        private int depth;
        private int value;

        /** Back to the root (the empty prefix). */
        Cursor reset() {
            lo = 0;
            hi = keys.length;
            depth = 0;
            value = -1;
            return this;
        }

        /**
         * Follows one byte. Returns false when no key continues with it (the cursor is then dead). After a true
         * return, {@link #value()} is the value of the key that ends exactly here, or -1.
         */
        boolean next(byte b) {
            int l = lo;
            // A key equal to the current prefix sorts first in the range; it cannot continue.
            if (l < hi && keys[l].length == depth) l++;
            int ub = b & 0xFF;
            int first = lowerBound(l, hi, ub);
            int end = lowerBound(first, hi, ub + 1);
            if (first == end) {
                lo = hi = 0;
                value = -1;
                return false;
            }
            lo = first;
            hi = end;
            depth++;
            value = keys[first].length == depth ? values[first] : -1;
            return true;
        }

        int value() {
            return value;
        }

        /** Resets, then returns the value of the key equal to {@code text[from, to)}, or -1. */
        int exact(byte[] text, int from, int to) {
            reset();
            if (from == to) return -1;
            for (int i = from; i < to; i++) {
                if (!next(text[i])) return -1;
            }
            return value;
        }

        /** Resets, then returns the length of the longest key that is a prefix of {@code text[from, to)}, or 0. */
        int longestPrefix(byte[] text, int from, int to) {
            reset();
            int best = 0;
            for (int i = from; i < to; i++) {
                if (!next(text[i])) break;
                if (value >= 0) best = i + 1 - from;
            }
            return best;
        }

        /** First index in [from, to) whose byte at {@code depth} is ≥ {@code b} (keys there are longer than depth). */
        private int lowerBound(int from, int to, int b) {
            while (from < to) {
                int mid = (from + to) >>> 1;
                if ((keys[mid][depth] & 0xFF) < b) from = mid + 1;
                else to = mid;
            }
            return from;
        }
    }

    Cursor cursor() {
        return new Cursor().reset();
    }

    /** The value of the key equal to {@code text[from, to)}, or -1. */
    int get(byte[] text, int from, int to) {
        return cursor().exact(text, from, to);
    }

    /** Length of the longest key that is a prefix of {@code text[from, to)}, or 0 if none. */
    int longestPrefix(byte[] text, int from, int to) {
        return cursor().longestPrefix(text, from, to);
    }
}
