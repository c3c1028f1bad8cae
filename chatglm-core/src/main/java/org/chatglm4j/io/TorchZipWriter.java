package org.chatglm4j.io;

import org.chatglm4j.ChatGlmException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Writes a state dict of float32 tensors in the format of {@code torch.save} (PyTorch ≥ 1.6): a stored (not
 * compressed) zip with {@code archive/data.pkl} (a protocol-2 pickle of an {@code OrderedDict} of
 * {@code torch._utils._rebuild_tensor_v2} calls over persistent storage ids), one {@code archive/data/<key>} entry
 * per tensor (little-endian floats, 64-byte aligned as PyTorch aligns them) and {@code archive/version}. Python's
 * {@code torch.load} and {@link Checkpoint} both read it. The file appears atomically: a temporary file, then a
 * rename.
 */
public final class TorchZipWriter {
    private static final String ARCHIVE = "archive/";
    private static final int ALIGN = 64;

    /** One tensor: its name, shape and row-major float32 values. */
    public record NamedTensor(String name, long[] shape, float[] data) {
        /** Checks that {@code data} holds exactly the number of values the shape needs. */
        public NamedTensor {
            long n = 1;
            for (long d : shape) n *= d;
            if (n != data.length) {
                throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " for " + data.length + " values");
            }
        }
    }

    private TorchZipWriter() {
    }

    /**
     * Writes {@code tensors}, in list order, to {@code file} atomically (a temporary sibling, then a rename); the
     * caller keeps ownership of the arrays, which are only read. Throws {@link ChatGlmException} on an I/O failure.
     */
    public static void write(Path file, List<NamedTensor> tensors) {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            try (OutputStream out = Files.newOutputStream(tmp)) {
                Zip zip = new Zip(out);
                zip.entry(ARCHIVE + "data.pkl", pickle(tensors));
                for (int i = 0; i < tensors.size(); i++) {
                    float[] d = tensors.get(i).data();
                    ByteBuffer bb = ByteBuffer.allocate(4 * d.length).order(ByteOrder.LITTLE_ENDIAN);
                    bb.asFloatBuffer().put(d);
                    zip.entry(ARCHIVE + "data/" + i, bb.array());
                }
                zip.entry(ARCHIVE + "version", "3\n".getBytes(StandardCharsets.US_ASCII));
                zip.finish();
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the original error is the one to report
            }
            throw new ChatGlmException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    /** {@code OrderedDict([(name, _rebuild_tensor_v2(storage, 0, shape, stride, False, OrderedDict())), …])}. */
    static byte[] pickle(List<NamedTensor> tensors) {
        Pickle p = new Pickle();
        p.op(0x80).op(2);                                    // PROTO 2
        p.global("collections", "OrderedDict").op(')').op('R');
        p.op('(');                                           // MARK for SETITEMS
        for (int i = 0; i < tensors.size(); i++) {
            NamedTensor t = tensors.get(i);
            p.string(t.name());
            p.global("torch._utils", "_rebuild_tensor_v2");
            p.op('(');
            p.op('(').string("storage").global("torch", "FloatStorage").string(Integer.toString(i)).string("cpu")
                    .integer(t.data().length).op('t').op('Q');   // persistent id → BINPERSID
            p.integer(0);                                        // storage offset
            long[] stride = new long[t.shape().length];
            long s = 1;
            for (int d = stride.length - 1; d >= 0; d--) {
                stride[d] = s;
                s *= t.shape()[d];
            }
            p.op('(');
            for (long d : t.shape()) p.integer(d);
            p.op('t');
            p.op('(');
            for (long d : stride) p.integer(d);
            p.op('t');
            p.op(0x89);                                          // requires_grad False
            p.global("collections", "OrderedDict").op(')').op('R');   // backward hooks
            p.op('t').op('R');
        }
        p.op('u').op('.');                                   // SETITEMS, STOP
        return p.bytes.toByteArray();
    }

    private static final class Pickle {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        Pickle op(int b) {
            bytes.write(b);
            return this;
        }

        Pickle global(String module, String name) {
            op('c');
            bytes.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickle string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            int32(b.length);
            bytes.writeBytes(b);
            return this;
        }

        Pickle integer(long v) {
            if (v >= 0 && v < 256) return op('K').op((int) v);
            if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                op('J');
                return int32((int) v);
            }
            op(0x8a).op(8);                                  // LONG1, 8 little-endian bytes
            for (int i = 0; i < 8; i++) op((int) (v >>> (8 * i)) & 0xFF);
            return this;
        }

        Pickle int32(int v) {
            for (int i = 0; i < 4; i++) op((v >>> (8 * i)) & 0xFF);
            return this;
        }
    }

    /** A minimal writer of stored zip entries whose data start at 64-byte offsets (PyTorch pads the extra field). */
    private static final class Zip {
        private final OutputStream out;
        private long offset;
        private final List<byte[]> central = new ArrayList<>();

        Zip(OutputStream out) {
            this.out = out;
        }

        void entry(String name, byte[] data) throws IOException {
            byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
            CRC32 crc = new CRC32();
            crc.update(data);
            int headerEnd = (int) ((offset + 30 + nameBytes.length + 4) % ALIGN);
            int pad = headerEnd == 0 ? 0 : ALIGN - headerEnd;
            byte[] extra = new byte[4 + pad];                // id "FB", length, zero padding
            extra[0] = 'F';
            extra[1] = 'B';
            extra[2] = (byte) pad;
            extra[3] = (byte) (pad >>> 8);
            if (data.length < 0 || offset > 0xFFFFFFFFL || (long) data.length > 0xFFFFFFFFL) {
                throw new IOException("entry " + name + " is too large for a zip without zip64");
            }
            ByteBuffer local = header(30, 0x04034b50, nameBytes.length, extra.length, crc.getValue(), data.length, false, 0);
            long at = offset;
            write(local.array());
            write(nameBytes);
            write(extra);
            write(data);
            ByteBuffer c = header(46, 0x02014b50, nameBytes.length, 0, crc.getValue(), data.length, true, at);
            ByteArrayOutputStream e = new ByteArrayOutputStream();
            e.writeBytes(c.array());
            e.writeBytes(nameBytes);
            central.add(e.toByteArray());
        }

        private static ByteBuffer header(int size, int signature, int nameLen, int extraLen, long crc, int length,
                                         boolean centralEntry, long localOffset) {
            ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(signature);
            if (centralEntry) b.putShort((short) 20);        // version made by
            b.putShort((short) 20).putShort((short) 0).putShort((short) 0);   // version needed, flags, stored
            b.putShort((short) 0).putShort((short) 0x21);    // time 00:00, date 1980-01-01
            b.putInt((int) crc).putInt(length).putInt(length);
            b.putShort((short) nameLen).putShort((short) extraLen);
            if (centralEntry) {
                b.putShort((short) 0).putShort((short) 0).putShort((short) 0).putInt(0).putInt((int) localOffset);
            }
            return b;
        }

        void finish() throws IOException {
            long start = offset;
            for (byte[] c : central) write(c);
            long size = offset - start;
            ByteBuffer end = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
            end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0)
                    .putShort((short) central.size()).putShort((short) central.size())
                    .putInt((int) size).putInt((int) start).putShort((short) 0);
            write(end.array());
        }

        private void write(byte[] b) throws IOException {
            out.write(b);
            offset += b.length;
        }
    }
}
