package org.chatglm4j.generate;

/**
 * In-place ascending sort of a run of a {@code long[]} that never allocates (the JDK's {@code Arrays.sort} allocates
 * small arrays while partitioning, and run buffers on large inputs): introsort, i.e. quicksort with a median-of-three
 * pivot, insertion sort on short runs and heapsort once the recursion gets too deep. Not stable (the keys it is used
 * on are distinct).
 */
final class LongSort {
    private static final int INSERTION_SORT_MAX = 24;

    private LongSort() {
    }

    /** Sorts {@code a[from, to)} ascending. */
    static void sort(long[] a, int from, int to) {
        sort(a, from, to, 2 * (32 - Integer.numberOfLeadingZeros(Math.max(1, to - from))));
    }

    /** With a chosen quicksort depth limit (0: heapsort right away), for tests. */
    static void sort(long[] a, int from, int to, int depthLimit) {
        if (from < 0 || from > to || to > a.length) {
            throw new IllegalArgumentException("range [" + from + ", " + to + ") of an array of " + a.length);
        }
        introsort(a, from, to, depthLimit);
    }

    private static void introsort(long[] a, int from, int to, int depthLimit) {
        while (to - from > INSERTION_SORT_MAX) {
            if (depthLimit-- == 0) {
                heapsort(a, from, to);
                return;
            }
            int mid = (from + to) >>> 1;
            // median of three to a[mid], then Hoare partition around its value
            if (a[mid] < a[from]) swap(a, mid, from);
            if (a[to - 1] < a[from]) swap(a, to - 1, from);
            if (a[to - 1] < a[mid]) swap(a, to - 1, mid);
            long pivot = a[mid];
            int i = from - 1;
            int j = to;
            while (true) {
                do i++; while (a[i] < pivot);
                do j--; while (a[j] > pivot);
                if (i >= j) break;
                swap(a, i, j);
            }
            // a[from, j] <= pivot <= a[j + 1, to); recurse into the smaller side to bound the stack
            if (j + 1 - from < to - (j + 1)) {
                introsort(a, from, j + 1, depthLimit);
                from = j + 1;
            } else {
                introsort(a, j + 1, to, depthLimit);
                to = j + 1;
            }
        }
        insertionSort(a, from, to);
    }

    private static void insertionSort(long[] a, int from, int to) {
        for (int i = from + 1; i < to; i++) {
            long v = a[i];
            int j = i - 1;
            while (j >= from && a[j] > v) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
    }

    private static void heapsort(long[] a, int from, int to) {
        int n = to - from;
        for (int i = n / 2 - 1; i >= 0; i--) siftDown(a, from, i, n);
        for (int end = n - 1; end > 0; end--) {
            swap(a, from, from + end);
            siftDown(a, from, 0, end);
        }
    }

    /** Max-heap sift-down of {@code a[from + i]} within the heap {@code a[from, from + n)}. */
    private static void siftDown(long[] a, int from, int i, int n) {
        long v = a[from + i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && a[from + child + 1] > a[from + child]) child++;
            if (a[from + child] <= v) break;
            a[from + i] = a[from + child];
            i = child;
        }
        a[from + i] = v;
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
