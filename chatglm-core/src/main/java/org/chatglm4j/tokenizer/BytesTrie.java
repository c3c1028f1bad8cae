package org.chatglm4j.tokenizer;

import java.util.Arrays;

/**
 * A read-only trie over byte-string keys, each with an int value, stored as the keys sorted in unsigned
 * lexicographic order: the keys sharing a prefix form a contiguous range, and following one more byte narrows the
 * range by binary search. Building is a single sort (fast for a 130k-piece vocabulary); walking from a text
 * position costs O(depth · log n) and finds every key that is a prefix of the text there, shortest first.
 */
final class BytesTrie {
    private final byte[][] keys;
    private final int[] values;

    /** Keys must be distinct. */
    BytesTrie(byte[][] keys, int[] values) {
        Integer[] order = new Integer[keys.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Arrays.compareUnsigned(keys[a], keys[b]));
        this.keys = new byte[keys.length][];
        this.values = new int[keys.length];
        for (int i = 0; i < order.length; i++) {
            this.keys[i] = keys[order[i]];
            this.values[i] = values[order[i]];
        }
    }

    int size() {
        return keys.length;
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

        /** First index in [from, to) whose byte at {@code depth} is ≥ {@code b}; the range holds keys longer than depth. */
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
        if (from == to) return -1;
        Cursor c = cursor();
        for (int i = from; i < to; i++) {
            if (!c.next(text[i])) return -1;
        }
        return c.value();
    }

    /** Length of the longest key that is a prefix of {@code text[from, to)}, or 0 if none. */
    int longestPrefix(byte[] text, int from, int to) {
        Cursor c = cursor();
        int best = 0;
        for (int i = from; i < to; i++) {
            if (!c.next(text[i])) break;
            if (c.value() >= 0) best = i + 1 - from;
        }
        return best;
    }
}
