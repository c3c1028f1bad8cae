package org.chatglm4j.chat;

import java.nio.file.Path;

/**
 * How to load a model.
 *
 * @param threads compute threads (default: available processors)
 * @param ptuning a P-Tuning v2 checkpoint folder (config.json with pre_seq_len and the prefix encoder weights), or
 *                null
 */
public record LoadOptions(int threads, Path ptuning) {
    public LoadOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }

    public static LoadOptions defaults() {
        return new LoadOptions(Runtime.getRuntime().availableProcessors(), null);
    }

    public LoadOptions withThreads(int n) {
        return new LoadOptions(n, ptuning);
    }

    public LoadOptions withPtuning(Path p) {
        return new LoadOptions(threads, p);
    }
}
