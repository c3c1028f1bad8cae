package org.chatglm4j.io;

import org.chatglm4j.ChatGlmException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a {@code torch.save} zip archive (PyTorch ≥ 1.6: {@code <archive>/data.pkl}, {@code <archive>/data/<key>},
 * {@code <archive>/version}) holding a state dict. Tensors are slices of the mapped storage entries; the pickle is
 * interpreted by {@link SafeUnpickler}, which runs no code.
 */
final class TorchZipReader {
    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};

    private TorchZipReader() {
    }

    /** Whether {@code bytes} starts like a zip archive. */
    static boolean looksLikeZip(MemorySegment bytes) {
        if (bytes.byteSize() < ZIP_MAGIC.length) return false;
        for (int i = 0; i < ZIP_MAGIC.length; i++) {
            if (bytes.get(ValueLayout.JAVA_BYTE, i) != ZIP_MAGIC[i]) return false;
        }
        return true;
    }

    /** Whether {@code bytes} starts like the pre-1.6 torch.save format (a bare pickle stream). */
    static boolean looksLikeLegacyTorch(MemorySegment bytes) {
        return bytes.byteSize() >= 2 && Byte.toUnsignedInt(bytes.get(ValueLayout.JAVA_BYTE, 0)) == 0x80
                && bytes.get(ValueLayout.JAVA_BYTE, 1) <= 5;
    }

    /** The tensors of the state dict in {@code file} (mapped whole as {@code bytes}), in pickle order. */
    static List<TensorRef> read(Path file, MemorySegment bytes, CheckpointLimits limits) {
        if (!looksLikeZip(bytes)) {
            if (looksLikeLegacyTorch(bytes)) {
                throw new ChatGlmException(file + ": legacy (pre-1.6) torch.save format is not supported; "
                        + "re-save it with a newer torch.save");
            }
            if (bytes.byteSize() == 0) throw new ChatGlmException(file + ": empty file, expected a torch.save zip archive");
        }
        ZipDirectory zip = ZipDirectory.read(file, bytes, limits.maxZipEntries());
        String prefix = archivePrefix(file, zip);
        checkByteOrder(file, zip, prefix);
        ZipDirectory.Entry pickleEntry = zip.entries().get(prefix + "data.pkl");
        MemorySegment pickle = zip.storedData(pickleEntry);
        Map<String, SafeUnpickler.Tensor> state =
                SafeUnpickler.loadStateDict(pickle, file + " [" + pickleEntry.name() + "]", limits);

        Map<String, Resolved> storages = new HashMap<>();
        List<TensorRef> tensors = new ArrayList<>(state.size());
        for (Map.Entry<String, SafeUnpickler.Tensor> e : state.entrySet()) {
            String name = e.getKey();
            SafeUnpickler.Tensor t = e.getValue();
            SafeUnpickler.Storage s = t.storage();
            Resolved storage = storages.get(s.key());
            if (storage == null) {
                storage = resolve(file, zip, prefix, name, s);
                storages.put(s.key(), storage);
            } else if (storage.declared().dtype() != s.dtype() || storage.declared().numel() != s.numel()) {
                throw new ChatGlmException(file + ": storage '" + s.key() + "' is declared twice with different "
                        + "types or sizes (tensor '" + name + "')");
            }
            int itemSize = s.dtype().bytes();
            // SafeUnpickler already checked offset + numel <= storage numel, which resolve() matched to the entry.
            MemorySegment data = storage.data().asSlice(t.storageOffset() * itemSize, t.numel() * itemSize);
            tensors.add(new TensorRef(name, s.dtype(), t.shape(), data, file));
        }
        return tensors;
    }

    private record Resolved(SafeUnpickler.Storage declared, MemorySegment data) {
    }

    private static Resolved resolve(Path file, ZipDirectory zip, String prefix, String tensor, SafeUnpickler.Storage s) {
        String entryName = prefix + "data/" + s.key();
        ZipDirectory.Entry entry = zip.entries().get(entryName);
        if (entry == null) {
            throw new ChatGlmException(file + ": tensor '" + tensor + "' refers to storage '" + s.key()
                    + "' but the archive has no entry '" + entryName + "'");
        }
        MemorySegment data = zip.storedData(entry);
        long expected;
        try {
            expected = Math.multiplyExact(s.numel(), (long) s.dtype().bytes());
        } catch (ArithmeticException overflow) {
            expected = -1;
        }
        if (expected != data.byteSize()) {
            throw new ChatGlmException(file + ": storage '" + s.key() + "' of tensor '" + tensor + "' declares "
                    + s.numel() + " " + s.dtype().lowerName() + " elements but entry '" + entryName + "' holds "
                    + data.byteSize() + " bytes");
        }
        return new Resolved(s, data);
    }

    /** torch names every entry {@code <archive>/...} after the file it saved to; find that folder via data.pkl. */
    private static String archivePrefix(Path file, ZipDirectory zip) {
        String prefix = null;
        for (String name : zip.entries().keySet()) {
            int slash = name.indexOf('/');
            if (slash > 0 && name.substring(slash + 1).equals("data.pkl")) {
                if (prefix != null) throw new ChatGlmException(file + ": zip archive holds more than one data.pkl");
                prefix = name.substring(0, slash + 1);
            }
        }
        if (prefix == null) {
            throw new ChatGlmException(file + ": zip archive has no <archive>/data.pkl entry, not a torch.save file");
        }
        return prefix;
    }

    /** torch ≥ 2.1 records the byte order of the storages; everything here is little-endian. */
    private static void checkByteOrder(Path file, ZipDirectory zip, String prefix) {
        ZipDirectory.Entry entry = zip.entries().get(prefix + "byteorder");
        if (entry == null) return;
        MemorySegment data = zip.storedData(entry);
        if (data.byteSize() > 16) throw new ChatGlmException(file + ": corrupt byteorder entry");
        String order = new String(data.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).strip();
        if (!order.equals("little")) {
            throw new ChatGlmException(file + ": tensors are stored in '" + order + "' byte order, only little-endian "
                    + "checkpoints are supported");
        }
    }
}
