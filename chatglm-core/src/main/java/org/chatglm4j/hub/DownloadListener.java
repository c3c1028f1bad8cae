package org.chatglm4j.hub;

/**
 * Hears what a model download does, so a front end can show it; the library itself prints nothing. All methods
 * default to doing nothing ({@link #NONE}). Calls come from the thread that called
 * {@link ModelLocator#resolve}, one file at a time, in this order per file: {@code fileStarted}, {@code progress}
 * (throttled, never decreasing, the last one at the total when the total is known), then {@code fileDone} or
 * {@code fileFailed}. A transfer that must start over from byte 0 (a server that ignores a range request) reports
 * a new {@code fileStarted} first, so progress never goes back within one {@code fileStarted}.
 *
 * <p>Sizes are in bytes; a total of {@code -1} means the server did not say.
 */
public interface DownloadListener {

    /** Ignores everything. */
    DownloadListener NONE = new DownloadListener() {
    };

    /** A one-line note for the user, such as which commit is used or that a transfer is being resumed. */
    default void message(String text) {
    }

    /**
     * A file transfer begins.
     *
     * @param resumedFrom bytes already on disk from an earlier, interrupted attempt (0 for a fresh start)
     */
    default void fileStarted(String file, long totalBytes, long resumedFrom) {
    }

    /** {@code bytesDone} counts from the start of the file, resumed bytes included. */
    default void progress(String file, long bytesDone, long totalBytes) {
    }

    /** A file is complete (and checked against its sha256 when the hub gives one). */
    default void fileDone(String file, long totalBytes) {
    }

    /** The transfer stopped for good; an exception with the reason follows. */
    default void fileFailed(String file, long bytesDone, long totalBytes) {
    }
}
