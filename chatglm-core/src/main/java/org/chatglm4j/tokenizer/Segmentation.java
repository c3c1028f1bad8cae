package org.chatglm4j.tokenizer;

import java.util.Arrays;

/**
 * The output of a segmenter: consecutive pieces of the normalized text, each a byte range {@code [begin, end)} and
 * the vocabulary id it was matched to (the unknown id for characters the vocabulary lacks).
 */
final class Segmentation {
    private int[] begins = new int[16];
    private int[] ends = new int[16];
    private int[] ids = new int[16];
    private int size;

    void add(int begin, int end, int id) {
        if (size == ids.length) {
            begins = Arrays.copyOf(begins, size * 2);
            ends = Arrays.copyOf(ends, size * 2);
            ids = Arrays.copyOf(ids, size * 2);
        }
        begins[size] = begin;
        ends[size] = end;
        ids[size] = id;
        size++;
    }

    int size() {
        return size;
    }

    int begin(int i) {
        return begins[i];
    }

    int end(int i) {
        return ends[i];
    }

    int id(int i) {
        return ids[i];
    }

    /** Reverses the order of the pieces (segmenters that backtrack produce them last to first). */
    void reverse() {
        for (int i = 0, j = size - 1; i < j; i++, j--) {
            swap(begins, i, j);
            swap(ends, i, j);
            swap(ids, i, j);
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
