package org.chatglm4j.io;

import org.chatglm4j.ChatGlmException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The central directory of a zip archive that lies memory-mapped in {@code file}, parsed directly (with zip64) so
 * that the data of each stored entry can be used in place. {@code java.util.zip} is not used because it hides
 * where an entry's bytes start, and a torch checkpoint must be mapped, not inflated onto the heap.
 */
final class ZipDirectory {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static final int EOCD_SIG = 0x06054b50;
    private static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    private static final int ZIP64_EOCD_SIG = 0x06064b50;
    private static final int CENTRAL_SIG = 0x02014b50;
    private static final int LOCAL_SIG = 0x04034b50;
    private static final int EOCD_SIZE = 22;
    private static final int CENTRAL_SIZE = 46;
    private static final int LOCAL_SIZE = 30;
    private static final long U32_MAX = 0xFFFFFFFFL;

    /**
     * One entry as the central directory describes it.
     *
     * @param method      0 = stored; anything else is compressed and cannot be mapped
     * @param localHeader offset of the entry's local file header
     */
    record Entry(String name, int method, int flags, long compressedSize, long size, long localHeader) {
    }

    private final Path file;
    private final MemorySegment bytes;
    private final long centralStart;
    private final Map<String, Entry> entries;

    private ZipDirectory(Path file, MemorySegment bytes, long centralStart, Map<String, Entry> entries) {
        this.file = file;
        this.bytes = bytes;
        this.centralStart = centralStart;
        this.entries = entries;
    }

    /** Parses the central directory of {@code bytes} (the whole mapped file). */
    static ZipDirectory read(Path file, MemorySegment bytes, int maxEntries) {
        long size = bytes.byteSize();
        long eocd = findEndOfCentralDirectory(file, bytes);
        if (u16(bytes, eocd + 4) != 0 || u16(bytes, eocd + 6) != 0) {
            throw error(file, "multi-disk zip archives are not supported");
        }
        long count = u16(bytes, eocd + 10);
        long centralSize = u32(bytes, eocd + 12);
        long centralStart = u32(bytes, eocd + 16);
        long directoryEnd = eocd;
        // Zip64 (archives over 4 GiB, e.g. a 12 GB single-file model): its locator sits right before the classic record.
        if (eocd >= 20 && u32(bytes, eocd - 20) == ZIP64_LOCATOR_SIG) {
            long zip64 = bytes.get(U64, eocd - 20 + 8);
            if (zip64 < 0 || zip64 > eocd - 20 - 56 || u32(bytes, zip64) != ZIP64_EOCD_SIG) {
                throw error(file, "corrupt zip64 end-of-central-directory record");
            }
            count = bytes.get(U64, zip64 + 32);
            centralSize = bytes.get(U64, zip64 + 40);
            centralStart = bytes.get(U64, zip64 + 48);
            directoryEnd = zip64;
        } else if (count == 0xFFFF || centralSize == U32_MAX || centralStart == U32_MAX) {
            throw error(file, "zip64 archive without a zip64 end-of-central-directory locator (truncated?)");
        }
        if (centralStart < 0 || centralSize < 0 || centralStart > directoryEnd
                || centralSize > directoryEnd - centralStart) {
            throw error(file, "central directory (offset " + centralStart + ", " + centralSize
                    + " bytes) lies outside the file of " + size + " bytes (truncated or corrupt zip)");
        }
        if (count < 0 || count > centralSize / CENTRAL_SIZE) {
            throw error(file, "central directory claims " + count + " entries in " + centralSize + " bytes");
        }
        if (count > maxEntries) {
            throw error(file, "zip archive has " + count + " entries, more than the limit of " + maxEntries);
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        long p = centralStart;
        long end = centralStart + centralSize;
        for (long i = 0; i < count; i++) {
            if (end - p < CENTRAL_SIZE || u32(bytes, p) != CENTRAL_SIG) {
                throw error(file, "corrupt central directory entry " + i + " at offset " + p);
            }
            int flags = u16(bytes, p + 8);
            int method = u16(bytes, p + 10);
            long compressed = u32(bytes, p + 20);
            long uncompressed = u32(bytes, p + 24);
            int nameLength = u16(bytes, p + 28);
            int extraLength = u16(bytes, p + 30);
            int commentLength = u16(bytes, p + 32);
            long local = u32(bytes, p + 42);
            long next = p + CENTRAL_SIZE + nameLength + extraLength + commentLength;
            if (next > end) throw error(file, "corrupt central directory entry " + i + " at offset " + p);
            String name = string(bytes, p + CENTRAL_SIZE, nameLength);
            // Zip64 extra field: only the fields saturated in the fixed header are present, in this order.
            long extra = p + CENTRAL_SIZE + nameLength;
            long extraEnd = extra + extraLength;
            while (extraEnd - extra >= 4) {
                int id = u16(bytes, extra);
                int length = u16(bytes, extra + 2);
                long data = extra + 4;
                if (data + length > extraEnd) throw error(file, "corrupt extra field of zip entry '" + name + "'");
                if (id == 0x0001) {
                    long q = data;
                    if (uncompressed == U32_MAX) {
                        uncompressed = zip64Field(file, bytes, name, q, data + length);
                        q += 8;
                    }
                    if (compressed == U32_MAX) {
                        compressed = zip64Field(file, bytes, name, q, data + length);
                        q += 8;
                    }
                    if (local == U32_MAX) {
                        local = zip64Field(file, bytes, name, q, data + length);
                    }
                }
                extra = data + length;
            }
            if (compressed < 0 || uncompressed < 0 || local < 0) {
                throw error(file, "zip entry '" + name + "' has a size or offset beyond 2^63");
            }
            if (entries.putIfAbsent(name, new Entry(name, method, flags, compressed, uncompressed, local)) != null) {
                throw error(file, "zip archive has two entries named '" + name + "'");
            }
            p = next;
        }
        return new ZipDirectory(file, bytes, centralStart, Collections.unmodifiableMap(entries));
    }

    Map<String, Entry> entries() {
        return entries;
    }

    /**
     * The bytes of a stored entry, as a slice of the mapping (no copy).
     *
     * @throws ChatGlmException if the entry is compressed, encrypted or does not lie within the file
     */
    MemorySegment storedData(Entry e) {
        if ((e.flags() & 1) != 0) throw error(file, "zip entry '" + e.name() + "' is encrypted");
        if (e.method() != 0) {
            throw error(file, "zip entry '" + e.name() + "' is compressed (method " + e.method() + "); torch.save "
                    + "writes stored entries and only those can be memory-mapped, re-save it with torch.save");
        }
        if (e.compressedSize() != e.size()) {
            throw error(file, "stored zip entry '" + e.name() + "' has compressed size " + e.compressedSize()
                    + " but size " + e.size());
        }
        long local = e.localHeader();
        if (local > centralStart - LOCAL_SIZE || u32(bytes, local) != LOCAL_SIG) {
            throw error(file, "zip entry '" + e.name() + "' has no local header at offset " + local);
        }
        // The local extra field differs from the central one (torch pads it so that data is 64-byte aligned).
        int nameLength = u16(bytes, local + 26);
        int extraLength = u16(bytes, local + 28);
        long data = local + LOCAL_SIZE + nameLength + extraLength;
        if (data > centralStart || !string(bytes, local + LOCAL_SIZE, nameLength).equals(e.name())) {
            throw error(file, "zip entry '" + e.name() + "' has a corrupt local header at offset " + local);
        }
        if (e.size() > centralStart - data) {
            throw error(file, "zip entry '" + e.name() + "' (" + e.size() + " bytes at offset " + data
                    + ") extends past the end of the entry data (truncated or corrupt zip)");
        }
        return bytes.asSlice(data, e.size());
    }

    private static long findEndOfCentralDirectory(Path file, MemorySegment bytes) {
        long size = bytes.byteSize();
        // The record is 22 bytes plus a comment of at most 65535 bytes; search backwards for a consistent one.
        long lowest = Math.max(0, size - EOCD_SIZE - 0xFFFF);
        for (long p = size - EOCD_SIZE; p >= lowest; p--) {
            if (u32(bytes, p) == EOCD_SIG && p + EOCD_SIZE + u16(bytes, p + 20) == size) return p;
        }
        throw error(file, "not a zip archive, or truncated: no end-of-central-directory record");
    }

    private static long zip64Field(Path file, MemorySegment bytes, String name, long at, long end) {
        if (at + 8 > end) throw error(file, "corrupt zip64 extra field of zip entry '" + name + "'");
        return bytes.get(U64, at);
    }

    private static String string(MemorySegment bytes, long at, int length) {
        return new String(bytes.asSlice(at, length).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    private static int u16(MemorySegment bytes, long at) {
        return Short.toUnsignedInt(bytes.get(U16, at));
    }

    private static long u32(MemorySegment bytes, long at) {
        return Integer.toUnsignedLong(bytes.get(U32, at));
    }

    private static ChatGlmException error(Path file, String problem) {
        return new ChatGlmException(file + ": " + problem);
    }
}
