package org.chatglm4j.generate;

/** transformers' {@code TemperatureLogitsWarper}: every score divided by {@code float32(T)}, in float32. */
final class Temperature {
    private Temperature() {
    }

    static void apply(float[] row, int offset, int length, float temperature) {
        for (int i = offset, end = offset + length; i < end; i++) {
            float s = row[i] / temperature;
            // A tiny temperature can overflow a finite score; the reference then gets inf and, later, NaN
            // probabilities. Clamping keeps the limit behaviour (the largest scores win) and every score finite.
            if (s > Float.MAX_VALUE) s = Float.MAX_VALUE;
            else if (s < -Float.MAX_VALUE) s = -Float.MAX_VALUE;
            row[i] = s;
        }
    }
}
