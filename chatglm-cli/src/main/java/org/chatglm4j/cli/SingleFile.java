package org.chatglm4j.cli;

import org.chatglm4j.cglm.CglmFormat;

import java.nio.file.Files;
import java.nio.file.Path;

/** chatglm4j's single-file model format ({@code .cglm}), which --model accepts besides a model folder. */
final class SingleFile {
    private SingleFile() {
    }

    static boolean is(Path p) {
        return Files.isRegularFile(p) && p.getFileName().toString().endsWith(CglmFormat.EXTENSION);
    }
}
