package org.chatglm4j.cli;

import java.util.Locale;

/** Human-readable byte counts and parameter counts. */
final class Sizes {
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB"};

    private Sizes() {
    }

    /** {@code 512 B}, {@code 1.5 KiB}, {@code 12.3 GiB}. */
    static String bytes(long n) {
        if (n < 1024) return n + " B";
        double v = n;
        int unit = 0;
        while (v >= 1024 && unit < UNITS.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, UNITS[unit]);
    }

    /** {@code 6.17 B}, {@code 350.2 K}, {@code 812}. */
    static String count(long n) {
        if (n >= 1_000_000_000L) return String.format(Locale.ROOT, "%.2f B", n / 1e9);
        if (n >= 1_000_000L) return String.format(Locale.ROOT, "%.2f M", n / 1e6);
        if (n >= 1_000L) return String.format(Locale.ROOT, "%.1f K", n / 1e3);
        return Long.toString(n);
    }
}
