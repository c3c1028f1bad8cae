package org.chatglm4j.eval;

import java.math.BigDecimal;
import java.math.RoundingMode;

/** The float arithmetic of Python and numpy that compute_metrics relies on, to the last bit. */
final class PythonFloat {
    private PythonFloat() {
    }

    /**
     * {@code math.fsum}: the correctly rounded sum of finite values (Shewchuk's partials, then CPython's final
     * half-even correction).
     */
    static double fsum(double... values) {
        double[] partials = new double[values.length + 1];
        int count = 0;
        for (double v : values) {
            double x = v;
            int i = 0;
            for (int j = 0; j < count; j++) {
                double y = partials[j];
                if (Math.abs(x) < Math.abs(y)) {
                    double t = x;
                    x = y;
                    y = t;
                }
                double hi = x + y;
                double lo = y - (hi - x);
                if (lo != 0.0) partials[i++] = lo;
                x = hi;
            }
            partials[i] = x;
            count = i + 1;
        }
        if (count == 0) return 0.0;
        int n = count;
        double hi = partials[--n];
        double lo = 0.0;
        while (n > 0) {
            double x = hi;
            double y = partials[--n];
            hi = x + y;
            double yr = hi - x;
            lo = y - yr;
            if (lo != 0.0) break;
        }
        // the rest could move the sum across a half-way point: round half-even on the true value
        if (n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0))) {
            double y = lo * 2.0;
            double x = hi + y;
            double yr = x - hi;
            if (y == yr) hi = x;
        }
        return hi;
    }

    /** {@code round(x, 4)}: correct decimal rounding of the exact binary value, ties to even. */
    static double round4(double x) {
        if (!Double.isFinite(x)) return x;
        return Double.parseDouble(new BigDecimal(x).setScale(4, RoundingMode.HALF_EVEN).toPlainString());
    }

    /**
     * {@code float(np.mean(values))} of numpy 1.24 for a float64 array: 8192-value chunks, each summed pairwise
     * ({@link #pairwise}), added to a running total that starts at 0.0, divided by the count.
     */
    static double numpyMean(double[] values) {
        if (values.length == 0) return Double.NaN;
        double s = 0.0;
        for (int start = 0; start < values.length; start += 8192) {
            s += pairwise(values, start, Math.min(8192, values.length - start));
        }
        return s / values.length;
    }

    /** numpy's pairwise_sum: below 8 values in order, up to 128 in eight interleaved sums, above that halves. */
    static double pairwise(double[] a, int start, int n) {
        if (n < 8) {
            double res = 0.0;
            for (int i = 0; i < n; i++) res += a[start + i];
            return res;
        }
        if (n <= 128) {
            double[] r = new double[8];
            for (int j = 0; j < 8; j++) r[j] = a[start + j];
            int i;
            for (i = 8; i < n - (n % 8); i += 8) {
                for (int j = 0; j < 8; j++) r[j] += a[start + i + j];
            }
            double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for (; i < n; i++) res += a[start + i];
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return pairwise(a, start, n2) + pairwise(a, start + n2, n - n2);
    }
}
