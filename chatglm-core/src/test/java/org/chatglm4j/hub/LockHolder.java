package org.chatglm4j.hub;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Plays "another chatglm4j process" for {@link HubDownloadTest}: takes a blob's lock file, says "locked", waits for
 * a line on stdin, then finishes the blob (copies {@code source} to {@code blob}) and lets the lock go.
 * Arguments: lockFile blob source.
 */
public final class LockHolder {
    private LockHolder() {
    }

    public static void main(String[] args) throws Exception {
        Path lock = Path.of(args[0]);
        Path blob = Path.of(args[1]);
        Path source = Path.of(args[2]);
        try (FileChannel channel = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            channel.lock();
            System.out.println("locked");
            System.out.flush();
            new BufferedReader(new InputStreamReader(System.in)).readLine();
            Path tmp = blob.resolveSibling(blob.getFileName() + ".holder");
            Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, blob, StandardCopyOption.ATOMIC_MOVE);
        }
    }
}
