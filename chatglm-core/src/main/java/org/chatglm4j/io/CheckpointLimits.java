package org.chatglm4j.io;

/**
 * Bounds applied while reading the metadata of an untrusted checkpoint, so that a hostile file fails with a clear
 * error instead of exhausting the heap. Tensor data is memory-mapped and never counts against these limits.
 *
 * @param maxPickleBytes           largest {@code data.pkl} accepted (the real 6B model's is a few hundred KB)
 * @param maxPickleStack           most values on the pickle VM stack at once
 * @param maxPickleMemo            most memo entries
 * @param maxStringBytes           longest string in a pickle
 * @param maxJsonHeaderBytes       largest safetensors JSON header (the safetensors library itself caps it at 100 MB)
 * @param maxZipEntries            most entries in a torch zip archive
 */
public record CheckpointLimits(long maxPickleBytes, int maxPickleStack, int maxPickleMemo, int maxStringBytes,
                               long maxJsonHeaderBytes, int maxZipEntries) {

    /** Generous for any real checkpoint, small enough to keep a hostile file well below the default heap. */
    public static final CheckpointLimits DEFAULT =
            new CheckpointLimits(64L << 20, 1 << 20, 1 << 20, 1 << 20, 100L << 20, 1 << 20);

    /** Checks that every limit is positive; throws {@link IllegalArgumentException} otherwise. */
    public CheckpointLimits {
        if (maxPickleBytes <= 0 || maxPickleStack <= 0 || maxPickleMemo <= 0 || maxStringBytes <= 0
                || maxJsonHeaderBytes <= 0 || maxZipEntries <= 0) {
            throw new IllegalArgumentException("checkpoint limits must be positive");
        }
    }
}
