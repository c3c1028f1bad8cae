package org.chatglm4j.io;

import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tensors of a Hugging Face checkpoint, memory-mapped read-only and never copied onto the Java heap: every
 * {@link TensorRef#data()} is a slice of a file mapping owned by this object's shared {@link Arena}, so it may be
 * read from any thread until {@link #close()} (after which any access throws {@link IllegalStateException}).
 * Only metadata (the pickle of a torch zip, the JSON header of a safetensors file, the index) is read onto the heap.
 *
 * <p>Slices are not necessarily aligned to their element size (safetensors offsets are whatever the writer chose):
 * read them with the {@code *_UNALIGNED} value layouts, little-endian.
 *
 * <p>Supported formats ({@link #format()}):
 * <ul>
 *   <li>{@value #SAFETENSORS}: {@code model.safetensors}</li>
 *   <li>{@value #SAFETENSORS_SHARDED}: {@code model.safetensors.index.json} and its shards</li>
 *   <li>{@value #PYTORCH}: {@code pytorch_model.bin}, a {@code torch.save} zip (PyTorch ≥ 1.6, zip64 included)
 *       whose pickle is read by {@link SafeUnpickler}, which executes nothing</li>
 *   <li>{@value #PYTORCH_SHARDED}: {@code pytorch_model.bin.index.json} and its shards</li>
 * </ul>
 */
public final class Checkpoint implements AutoCloseable {
    /** {@link #format()} of a single {@code model.safetensors} file. */
    public static final String SAFETENSORS = "safetensors";
    /** {@link #format()} of a {@code model.safetensors.index.json} and the shards it names. */
    public static final String SAFETENSORS_SHARDED = "safetensors-sharded";
    /** {@link #format()} of a single {@code pytorch_model.bin} ({@code torch.save} zip). */
    public static final String PYTORCH = "pytorch";
    /** {@link #format()} of a {@code pytorch_model.bin.index.json} and the shards it names. */
    public static final String PYTORCH_SHARDED = "pytorch-sharded";

    /** The weight files looked for in a folder, in order of preference (the order transformers uses). */
    private static final List<String> CANDIDATES = List.of("model.safetensors", "model.safetensors.index.json",
            "pytorch_model.bin", "pytorch_model.bin.index.json");

    private final Path source;
    private final String format;
    private final List<Path> files;
    private final Map<String, TensorRef> tensors;
    private final long totalBytes;
    private final Arena arena;
    private boolean closed;

    private Checkpoint(Path source, String format, List<Path> files, Map<String, TensorRef> tensors, Arena arena) {
        this.source = source;
        this.format = format;
        this.files = List.copyOf(files);
        this.tensors = Collections.unmodifiableMap(tensors);
        this.arena = arena;
        long total = 0;
        for (TensorRef t : tensors.values()) total += t.data().byteSize();
        this.totalBytes = total;
    }

    /** {@link #open(Path, CheckpointLimits)} with {@link CheckpointLimits#DEFAULT}. */
    public static Checkpoint open(Path folderOrFile) {
        return open(folderOrFile, CheckpointLimits.DEFAULT);
    }

    /**
     * Opens a checkpoint folder or one of its files.
     *
     * <p>In a folder the first of these that exists is used: {@code model.safetensors},
     * {@code model.safetensors.index.json}, {@code pytorch_model.bin}, {@code pytorch_model.bin.index.json}.
     * A file is read as a shard index when its name ends in {@code .index.json}, as safetensors when it ends in
     * {@code .safetensors}, as a torch zip when it ends in {@code .bin}, {@code .pt} or {@code .pth}, and
     * otherwise by its first bytes.
     *
     * @throws ChatGlmException if the path is missing or holds no weights, or any file is malformed
     */
    public static Checkpoint open(Path folderOrFile, CheckpointLimits limits) {
        if (Files.isDirectory(folderOrFile)) {
            for (String candidate : CANDIDATES) {
                Path file = folderOrFile.resolve(candidate);
                if (Files.isRegularFile(file)) return openFile(folderOrFile, file, limits);
            }
            throw new ChatGlmException(folderOrFile + ": folder holds no model weights (looked for "
                    + String.join(", ", CANDIDATES) + ")");
        }
        if (!Files.exists(folderOrFile)) throw new ChatGlmException(folderOrFile + ": no such file or folder");
        return openFile(folderOrFile, folderOrFile, limits);
    }

    private static Checkpoint openFile(Path source, Path file, CheckpointLimits limits) {
        String name = file.getFileName().toString();
        Arena arena = Arena.ofShared();
        try {
            Checkpoint checkpoint;
            if (name.endsWith(".index.json")) {
                checkpoint = openSharded(source, file, name, limits, arena);
            } else {
                MemorySegment bytes = map(file, arena);
                boolean torch = name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth")
                        || (!name.endsWith(".safetensors")
                        && (TorchZipReader.looksLikeZip(bytes) || TorchZipReader.looksLikeLegacyTorch(bytes)));
                List<TensorRef> list = torch ? TorchZipReader.read(file, bytes, limits)
                        : SafetensorsReader.read(file, bytes, limits);
                checkpoint = new Checkpoint(source, torch ? PYTORCH : SAFETENSORS, List.of(file), byName(file, list),
                        arena);
            }
            return checkpoint;
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private static Checkpoint openSharded(Path source, Path indexFile, String name, CheckpointLimits limits,
                                          Arena arena) {
        boolean safetensors;
        if (name.endsWith(".safetensors.index.json")) {
            safetensors = true;
        } else if (name.endsWith(".bin.index.json")) {
            safetensors = false;
        } else {
            throw new ChatGlmException(indexFile + ": cannot tell the shard format, expected a name ending in "
                    + ".safetensors.index.json or .bin.index.json");
        }
        ShardIndex index = ShardIndex.read(indexFile);
        Path folder = indexFile.toAbsolutePath().getParent();
        List<Path> files = new ArrayList<>();
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        for (String shard : index.shards().keySet()) { // all present before any is read
            Path file = folder.resolve(shard);
            if (!Files.isRegularFile(file)) {
                throw new ChatGlmException(indexFile + ": shard '" + shard + "' does not exist (" + file + ")");
            }
        }
        for (Map.Entry<String, List<String>> shard : index.shards().entrySet()) {
            Path file = folder.resolve(shard.getKey());
            MemorySegment bytes = map(file, arena);
            List<TensorRef> list = safetensors ? SafetensorsReader.read(file, bytes, limits)
                    : TorchZipReader.read(file, bytes, limits);
            Map<String, TensorRef> held = byName(file, list);
            Set<String> expected = new HashSet<>(shard.getValue());
            for (String tensor : shard.getValue()) {
                if (!held.containsKey(tensor)) {
                    throw new ChatGlmException(file + ": has no tensor '" + tensor + "' although "
                            + indexFile.getFileName() + " maps it to this shard");
                }
            }
            for (String tensor : held.keySet()) {
                if (!expected.contains(tensor)) {
                    throw new ChatGlmException(file + ": holds tensor '" + tensor + "' that "
                            + indexFile.getFileName() + " does not map to this shard");
                }
            }
            tensors.putAll(held);
            files.add(file);
        }
        return new Checkpoint(source, safetensors ? SAFETENSORS_SHARDED : PYTORCH_SHARDED, files, tensors, arena);
    }

    private static Map<String, TensorRef> byName(Path file, List<TensorRef> list) {
        Map<String, TensorRef> map = new LinkedHashMap<>();
        for (TensorRef t : list) {
            if (map.put(t.name(), t) != null) throw new ChatGlmException(file + ": tensor '" + t.name() + "' twice");
        }
        return map;
    }

    private static MemorySegment map(Path file, Arena arena) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
        } catch (IOException e) {
            throw new ChatGlmException(file + ": cannot map: " + JsonFiles.oneLine(e.toString()), e);
        }
    }

    /** All tensors, in file order (shards in file-name order, each in the order its file lists them). */
    public Map<String, TensorRef> tensors() {
        return tensors;
    }

    /**
     * The tensor called {@code name}.
     *
     * @throws ChatGlmException naming the tensor and the checkpoint if there is none
     */
    public TensorRef get(String name) {
        TensorRef t = tensors.get(name);
        if (t == null) throw new ChatGlmException(source + ": no tensor '" + name + "' in this checkpoint");
        return t;
    }

    /** One of {@value #SAFETENSORS}, {@value #SAFETENSORS_SHARDED}, {@value #PYTORCH}, {@value #PYTORCH_SHARDED}. */
    public String format() {
        return format;
    }

    /** The weight files mapped (not the index). */
    public List<Path> files() {
        return files;
    }

    /** The folder or file this checkpoint was opened from. */
    public Path source() {
        return source;
    }

    /**
     * Sum of the tensors' byte sizes (what an index's {@code total_size} counts). Tensors that share a torch storage
     * each count their own bytes.
     */
    public long totalBytes() {
        return totalBytes;
    }

    /** Unmaps every file; the tensors' segments must not be used afterwards. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    @Override
    public String toString() {
        return format + " checkpoint " + source + " (" + tensors.size() + " tensors, " + totalBytes + " bytes)";
    }
}
