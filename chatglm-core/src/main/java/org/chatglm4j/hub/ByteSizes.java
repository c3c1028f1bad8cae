package org.chatglm4j.hub;

import java.util.Locale;

/** Human-readable sizes and durations for progress output and messages. */
final class ByteSizes {
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB"};

    private ByteSizes() {
    }

    /** {@code 512 B}, {@code 1.5 KiB}, {@code 12.3 GiB}. */
    static String format(long bytes) {
        if (bytes < 1024) return bytes + " B";
        double v = bytes;
        int unit = 0;
        while (v >= 1024 && unit < UNITS.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, UNITS[unit]);
    }

    /** {@code 0:07}, {@code 12:34}, {@code 1:02:03}. */
    static String duration(long seconds) {
        long s = Math.max(0, seconds);
        long h = s / 3600;
        long m = s / 60 % 60;
        long sec = s % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, sec)
                : String.format(Locale.ROOT, "%d:%02d", m, sec);
    }
}
