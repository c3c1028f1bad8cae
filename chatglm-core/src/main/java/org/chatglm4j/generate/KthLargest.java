package org.chatglm4j.generate;

/**
 * Finds the k-th largest of a run of floats (counting repeated values, like a descending sort would) with a
 * bounded min-heap: O(n log k) in the worst case, about O(n) when k is small, and no allocation per call.
 * Values must not be NaN.
 */
final class KthLargest {
    private final float[] heap;

    KthLargest(int capacity) {
        this.heap = new float[capacity];
    }

    /** The k-th largest of {@code values[from, from + count)}, {@code 1 <= k <= min(count, capacity)}. */
    float find(float[] values, int from, int count, int k) {
        if (k < 1 || k > count || k > heap.length) {
            throw new IllegalArgumentException("k = " + k + " outside [1, " + Math.min(count, heap.length) + "]");
        }
        float[] h = heap;
        for (int i = 0; i < k; i++) siftUp(h, i, values[from + i]);
        for (int i = from + k, end = from + count; i < end; i++) {
            float v = values[i];
            if (v > h[0]) siftDown(h, k, v);
        }
        return h[0];
    }

    private static void siftUp(float[] h, int index, float v) {
        int i = index;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (h[parent] <= v) break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = v;
    }

    /** Replaces the root (the minimum) by {@code v} and restores the heap of {@code size} entries. */
    private static void siftDown(float[] h, int size, float v) {
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) break;
            if (child + 1 < size && h[child + 1] < h[child]) child++;
            if (h[child] >= v) break;
            h[i] = h[child];
            i = child;
        }
        h[i] = v;
    }
}
