package org.chatglm4j.io;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes pickle opcodes one by one, so that tests can build exactly the byte streams {@code torch.save} produces
 * (protocol 2, or 4/5 style) as well as hostile ones, without Python.
 */
final class PickleBuilder {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    PickleBuilder op(int opcode) {
        out.write(opcode);
        return this;
    }

    PickleBuilder raw(byte... bytes) {
        out.writeBytes(bytes);
        return this;
    }

    PickleBuilder proto(int protocol) {
        return op(0x80).op(protocol);
    }

    PickleBuilder frame(long length) {
        op(0x95);
        return le(length, 8);
    }

    /** Text-mode GLOBAL, as protocol 2 writes it. */
    PickleBuilder global(String module, String name) {
        op('c');
        return raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** Protocol 4 style: the two names as strings, then STACK_GLOBAL. */
    PickleBuilder stackGlobal(String module, String name) {
        return shortUnicode(module).shortUnicode(name).op(0x93);
    }

    PickleBuilder unicode(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X');
        le(b.length, 4);
        return raw(b);
    }

    PickleBuilder shortUnicode(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op(0x8c).op(b.length);
        return raw(b);
    }

    /** An int the way pickle picks its opcode: BININT1, BININT2, BININT or LONG1. */
    PickleBuilder integer(long v) {
        if (v >= 0 && v < 256) return op('K').op((int) v);
        if (v >= 0 && v < 65536) return op('M').le(v, 2);
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) return op('J').le(v, 4);
        return op(0x8a).op(8).le(v, 8);
    }

    PickleBuilder mark() {
        return op('(');
    }

    PickleBuilder tuple() {
        return op('t');
    }

    PickleBuilder emptyTuple() {
        return op(')');
    }

    PickleBuilder tupleOf(long... values) {
        if (values.length == 0) return emptyTuple();
        mark();
        for (long v : values) integer(v);
        return tuple();
    }

    PickleBuilder emptyDict() {
        return op('}');
    }

    PickleBuilder emptyList() {
        return op(']');
    }

    PickleBuilder setitem() {
        return op('s');
    }

    PickleBuilder setitems() {
        return op('u');
    }

    PickleBuilder append() {
        return op('a');
    }

    PickleBuilder put(int index) {
        return index < 256 ? op('q').op(index) : op('r').le(index, 4);
    }

    PickleBuilder get(int index) {
        return index < 256 ? op('h').op(index) : op('j').le(index, 4);
    }

    PickleBuilder memoize() {
        return op(0x94);
    }

    PickleBuilder reduce() {
        return op('R');
    }

    PickleBuilder build() {
        return op('b');
    }

    PickleBuilder persid() {
        return op('Q');
    }

    PickleBuilder newFalse() {
        return op(0x89);
    }

    PickleBuilder none() {
        return op('N');
    }

    PickleBuilder stop() {
        return op('.');
    }

    /** {@code collections.OrderedDict()} as torch writes it for a state dict or empty backward hooks. */
    PickleBuilder orderedDict() {
        return global("collections", "OrderedDict").emptyTuple().reduce();
    }

    /**
     * A tensor as {@code torch.save} protocol 2 writes it:
     * {@code _rebuild_tensor_v2(persistent_id(('storage', torch.<type>, key, 'cpu', numel)), offset, shape, stride,
     * False, OrderedDict())}.
     */
    PickleBuilder tensor(String storageType, String key, long storageNumel, long offset, long[] shape, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(storageType, key, storageNumel);
        integer(offset).tupleOf(shape).tupleOf(stride).newFalse().orderedDict();
        return tuple().reduce();
    }

    PickleBuilder storage(String storageType, String key, long numel) {
        return mark().unicode("storage").global("torch", storageType).unicode(key).unicode("cpu").integer(numel)
                .tuple().persid();
    }

    private PickleBuilder le(long v, int bytes) {
        for (int i = 0; i < bytes; i++) out.write((int) (v >>> (8 * i)) & 0xff);
        return this;
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    /** Row-major contiguous strides of {@code shape}. */
    static long[] contiguous(long... shape) {
        long[] stride = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            stride[i] = s;
            s *= shape[i];
        }
        return stride;
    }
}
