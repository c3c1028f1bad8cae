package org.chatglm4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes zip archives laid out like {@code torch.save}'s (entries {@code <archive>/...}, stored, data aligned to 64
 * bytes through a padding extra field), optionally with zip64 records for every entry even when small, with
 * deflated entries, or with "sparse" entries whose content is a hole in the file (to build > 4 GiB archives cheaply).
 */
final class TorchZipBuilder {
    private record Item(String name, byte[] data, long size, boolean deflate) {
    }

    private final String archive;
    private final List<Item> items = new ArrayList<>();
    private boolean forceZip64;

    TorchZipBuilder(String archive) {
        this.archive = archive;
    }

    TorchZipBuilder add(String relativeName, byte[] data) {
        items.add(new Item(archive + "/" + relativeName, data, data.length, false));
        return this;
    }

    TorchZipBuilder addDeflated(String relativeName, byte[] data) {
        items.add(new Item(archive + "/" + relativeName, data, data.length, true));
        return this;
    }

    /** An entry of {@code size} zero bytes that are never written (a hole in the file). */
    TorchZipBuilder addSparse(String relativeName, long size) {
        items.add(new Item(archive + "/" + relativeName, null, size, false));
        return this;
    }

    TorchZipBuilder forceZip64() {
        forceZip64 = true;
        return this;
    }

    /** A complete torch-style archive: data.pkl, the storages as data/0, data/1, ..., version. */
    static TorchZipBuilder stateDict(String archive, byte[] pickle, byte[]... storages) {
        TorchZipBuilder b = new TorchZipBuilder(archive).add("data.pkl", pickle);
        for (int i = 0; i < storages.length; i++) b.add("data/" + i, storages[i]);
        return b.add("version", "3\n".getBytes(StandardCharsets.US_ASCII));
    }

    Path write(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            List<long[]> placed = new ArrayList<>(); // {local header offset, stored size, uncompressed size, crc, method}
            long pos = 0;
            for (Item item : items) {
                byte[] name = item.name().getBytes(StandardCharsets.UTF_8);
                byte[] payload = item.data();
                int method = 0;
                long crc = 0;
                if (payload != null) {
                    CRC32 c = new CRC32();
                    c.update(payload);
                    crc = c.getValue();
                    if (item.deflate()) {
                        payload = deflate(payload);
                        method = 8;
                    }
                }
                long stored = payload == null ? item.size() : payload.length;
                boolean zip64 = forceZip64 || stored >= 0xFFFFFFFFL || item.size() >= 0xFFFFFFFFL;
                int zip64Extra = zip64 ? 20 : 0;
                long dataStart = pos + 30 + name.length + zip64Extra + 4;
                int pad = (int) ((64 - dataStart % 64) % 64);
                ByteBuffer h = le(30 + name.length + zip64Extra + 4 + pad);
                h.putInt(0x04034b50).putShort((short) (zip64 ? 45 : 20)).putShort((short) 0)
                        .putShort((short) method).putShort((short) 0).putShort((short) 0).putInt((int) crc)
                        .putInt(zip64 ? -1 : (int) stored).putInt(zip64 ? -1 : (int) item.size())
                        .putShort((short) name.length).putShort((short) (zip64Extra + 4 + pad)).put(name);
                if (zip64) h.putShort((short) 1).putShort((short) 16).putLong(item.size()).putLong(stored);
                h.putShort((short) 0x4246).putShort((short) pad).put(new byte[pad]); // torch's "FB" padding field
                write(ch, h.flip(), pos);
                placed.add(new long[]{pos, stored, item.size(), crc, method});
                pos += h.capacity();
                if (payload != null) write(ch, ByteBuffer.wrap(payload), pos);
                pos += stored;
            }
            long centralStart = pos;
            for (int i = 0; i < items.size(); i++) {
                byte[] name = items.get(i).name().getBytes(StandardCharsets.UTF_8);
                long[] p = placed.get(i);
                boolean zip64 = forceZip64 || p[0] >= 0xFFFFFFFFL || p[1] >= 0xFFFFFFFFL || p[2] >= 0xFFFFFFFFL;
                ByteBuffer c = le(46 + name.length + (zip64 ? 28 : 0));
                c.putInt(0x02014b50).putShort((short) 45).putShort((short) (zip64 ? 45 : 20)).putShort((short) 0)
                        .putShort((short) p[4]).putShort((short) 0).putShort((short) 0).putInt((int) p[3])
                        .putInt(zip64 ? -1 : (int) p[1]).putInt(zip64 ? -1 : (int) p[2])
                        .putShort((short) name.length).putShort((short) (zip64 ? 28 : 0)).putShort((short) 0)
                        .putShort((short) 0).putShort((short) 0).putInt(0).putInt(zip64 ? -1 : (int) p[0]).put(name);
                if (zip64) c.putShort((short) 1).putShort((short) 24).putLong(p[2]).putLong(p[1]).putLong(p[0]);
                write(ch, c.flip(), pos);
                pos += c.capacity();
            }
            long centralSize = pos - centralStart;
            boolean zip64 = forceZip64 || centralStart >= 0xFFFFFFFFL;
            if (zip64) {
                ByteBuffer z = le(56 + 20);
                z.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
                        .putLong(items.size()).putLong(items.size()).putLong(centralSize).putLong(centralStart);
                z.putInt(0x07064b50).putInt(0).putLong(pos).putInt(1);
                write(ch, z.flip(), pos);
                pos += z.capacity();
            }
            ByteBuffer e = le(22);
            e.putInt(0x06054b50).putShort((short) 0).putShort((short) 0)
                    .putShort((short) (zip64 ? 0xFFFF : items.size())).putShort((short) (zip64 ? 0xFFFF : items.size()))
                    .putInt(zip64 ? -1 : (int) centralSize).putInt(zip64 ? -1 : (int) centralStart).putShort((short) 0);
            write(ch, e.flip(), pos);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void write(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) pos += ch.write(b, pos);
    }

    private static byte[] deflate(byte[] data) {
        Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        d.setInput(data);
        d.finish();
        byte[] buf = new byte[data.length + data.length / 100 + 1024];
        int n = d.deflate(buf);
        d.end();
        return java.util.Arrays.copyOf(buf, n);
    }
}
