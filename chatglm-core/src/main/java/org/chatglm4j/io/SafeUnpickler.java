package org.chatglm4j.io;

import org.chatglm4j.ChatGlmException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pickle virtual machine that executes nothing: it understands exactly the structures {@code torch.save(state_dict)}
 * writes (dicts, OrderedDicts, tuples, lists, scalars, persistent storage ids and the tensor rebuild calls) and
 * refuses everything else. Only these globals may be named, and none is ever run — they are recognised and
 * interpreted here:
 * <ul>
 *   <li>{@code collections.OrderedDict} (called with no arguments, {@code BUILD} state ignored: it is the
 *       {@code _metadata} attribute of {@code state_dict()})</li>
 *   <li>{@code torch._utils._rebuild_tensor_v2} (6 arguments, or 7 with torch ≥ 2's metadata dict),
 *       {@code torch._utils._rebuild_parameter} and {@code _rebuild_parameter_with_state} of such a tensor</li>
 *   <li>{@code torch.<X>Storage} for the storage classes {@link DType#fromTorchStorage} knows, only inside
 *       persistent ids {@code ('storage', <X>Storage, key, location, numel)}</li>
 * </ul>
 * Any other global ({@code os.system}, {@code builtins.eval}, ...) is an error at the moment it is named.
 * Sizes are bounded by {@link CheckpointLimits}; results never form structures this class walks recursively.
 */
public final class SafeUnpickler {

    /** A Python tuple. Identity equality on purpose: a hostile pickle can build cyclic structures. */
    public static final class Tuple {
        private final List<Object> items;

        Tuple(Object[] items) {
            this.items = Collections.unmodifiableList(Arrays.asList(items));
        }

        /** The elements, unmodifiable, in tuple order. */
        public List<Object> items() {
            return items;
        }

        /** Number of elements. */
        public int size() {
            return items.size();
        }

        /** The element at index {@code i}, counted from 0. */
        public Object get(int i) {
            return items.get(i);
        }
    }

    /**
     * The storage a persistent id names: {@code numel} elements of {@code dtype} in zip entry {@code data/<key>}.
     *
     * @param location the device it was saved from ("cpu", "cuda:0"); everything is loaded to the CPU anyway
     */
    public record Storage(String key, DType dtype, long numel, String location) {
    }

    /**
     * A tensor as {@code _rebuild_tensor_v2} would build it, in elements (not bytes), not yet checked against the
     * archive. Shape and stride are validated as non-negative and contiguous row-major.
     */
    public record Tensor(Storage storage, long storageOffset, long[] shape, long[] stride) {
        /** Number of elements, the product of {@code shape} (1 for a scalar). */
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    /** Markers for the globals this VM knows. None of them is executable. */
    private enum Callable { ORDERED_DICT, REBUILD_TENSOR_V2, REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE }

    private record StorageClass(String name, DType dtype) {
    }

    /** What a dict created by {@code OrderedDict()} or {@code EMPTY_DICT} is: keys are scalars only. */
    private static final class Dict extends LinkedHashMap<Object, Object> {
    }

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64BE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int MAX_GLOBAL_LINE = 256;

    private final MemorySegment in;
    private final String source;
    private final CheckpointLimits limits;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final HashMap<Long, Object> memo = new HashMap<>();
    private long pos;

    private SafeUnpickler(MemorySegment in, String source, CheckpointLimits limits) {
        this.in = in;
        this.source = source;
        this.limits = limits;
    }

    /**
     * Unpickles a {@code torch.save} state dict: a dict or OrderedDict from tensor names to tensors, in file order.
     *
     * @param pickle the pickle bytes (for example a mapped {@code data.pkl} zip entry); only read, never copied whole
     * @param source names the pickle in error messages, e.g. {@code "model.bin"} or {@code "model.bin[x/data.pkl]"}
     */
    public static Map<String, Tensor> loadStateDict(MemorySegment pickle, String source, CheckpointLimits limits) {
        Object top = load(pickle, source, limits);
        if (!(top instanceof Dict dict)) {
            throw new ChatGlmException(source + ": pickle holds " + describe(top) + ", expected a state dict of tensors");
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<Object, Object> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name)) {
                throw new ChatGlmException(source + ": state dict has " + describe(e.getKey()) + " as a key, expected names");
            }
            if (!(e.getValue() instanceof Tensor t)) {
                throw new ChatGlmException(source + ": state dict entry '" + name + "' is " + describe(e.getValue())
                        + ", expected a tensor");
            }
            out.put(name, t);
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * Unpickles anything built from the allowed structures. Values are {@link String}, {@link Long},
     * {@link Double}, {@link Boolean}, {@code null} (None), {@link Tuple}, {@link List}, {@link Map} (dict and
     * OrderedDict), {@link Storage} and {@link Tensor}.
     */
    public static Object load(MemorySegment pickle, String source, CheckpointLimits limits) {
        if (pickle.byteSize() > limits.maxPickleBytes()) {
            throw new ChatGlmException(source + ": pickle of " + pickle.byteSize() + " bytes exceeds the limit of "
                    + limits.maxPickleBytes() + " bytes");
        }
        return new SafeUnpickler(pickle, source, limits).run();
    }

    private Object run() {
        while (true) {
            long at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int protocol = u8();
                    if (protocol > 5) throw error("pickle protocol " + protocol + " is not supported (at most 5)");
                }
                case 0x95 -> skip(8); // FRAME: a length hint for buffered readers, irrelevant on a mapped segment
                case '.' -> { // STOP
                    if (!marks.isEmpty() || stack.size() != 1) {
                        throw error("pickle STOP at offset " + at + " with an unbalanced stack");
                    }
                    return stack.getFirst();
                }
                case '(' -> { // MARK
                    if (marks.size() >= limits.maxPickleStack()) throw error("pickle nests MARKs too deeply");
                    marks.add(stack.size());
                }
                case 'X' -> push(string(u32Length())); // BINUNICODE
                case 0x8c -> push(string(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(string(u64Length())); // BINUNICODE8
                case 'J' -> push((long) read(I32, 4)); // BININT
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push((long) Short.toUnsignedInt(read(U16, 2))); // BININT2
                case 0x8a -> push(long1()); // LONG1
                case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                case 'N' -> push(null); // NONE
                case 'G' -> push(read(F64BE, 8)); // BINFLOAT
                case ')' -> push(new Tuple(new Object[0])); // EMPTY_TUPLE
                case 't' -> push(new Tuple(popToMark().toArray())); // TUPLE
                case 0x85, 0x86, 0x87 -> { // TUPLE1, TUPLE2, TUPLE3
                    int n = op - 0x84;
                    Object[] items = new Object[n];
                    for (int i = n - 1; i >= 0; i--) items[i] = pop();
                    push(new Tuple(items));
                }
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case 'l' -> push(new ArrayList<>(popToMark())); // LIST
                case 'a' -> { // APPEND
                    Object value = pop();
                    list(peek()).add(value);
                }
                case 'e' -> { // APPENDS
                    List<Object> values = popToMark();
                    list(peek()).addAll(values);
                }
                case '}' -> push(new Dict()); // EMPTY_DICT
                case 'd' -> { // DICT
                    Dict dict = new Dict();
                    putAll(dict, popToMark());
                    push(dict);
                }
                case 's' -> { // SETITEM
                    Object value = pop();
                    Object key = pop();
                    putAll(dict(peek()), List.of(key, value));
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popToMark();
                    putAll(dict(peek()), items);
                }
                case 'q' -> memoPut(u8()); // BINPUT
                case 'r' -> memoPut(Integer.toUnsignedLong(read(I32, 4))); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 'h' -> memoGet(u8()); // BINGET
                case 'j' -> memoGet(Integer.toUnsignedLong(read(I32, 4))); // LONG_BINGET
                case 'c' -> push(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw error("pickle STACK_GLOBAL at offset " + at + " needs two strings");
                    }
                    push(global(m, n));
                }
                case 'Q' -> push(persistentLoad(pop())); // BINPERSID
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(reduce(callable, args, at));
                }
                case 'b' -> { // BUILD
                    Object state = pop();
                    Object target = peek();
                    // OrderedDict.__reduce__ passes vars(od) as state: the state_dict()._metadata attribute, unused here.
                    if (!(target instanceof Dict) || !(state == null || state instanceof Dict)) {
                        throw error("pickle BUILD at offset " + at + " on " + describe(target) + " with "
                                + describe(state) + " is not allowed (only an OrderedDict's attributes)");
                    }
                }
                default -> throw error(String.format("pickle opcode 0x%02x%s at offset %d is not supported "
                        + "(only what torch.save writes for a state dict is accepted)", op,
                        op >= 0x21 && op < 0x7f ? " ('" + (char) op + "')" : "", at));
            }
        }
    }

    private Object global(String module, String name) {
        String qualified = module + "." + name;
        Object g = switch (qualified) {
            case "collections.OrderedDict" -> Callable.ORDERED_DICT;
            case "torch._utils._rebuild_tensor_v2" -> Callable.REBUILD_TENSOR_V2;
            case "torch._utils._rebuild_parameter" -> Callable.REBUILD_PARAMETER;
            case "torch._utils._rebuild_parameter_with_state" -> Callable.REBUILD_PARAMETER_WITH_STATE;
            default -> null;
        };
        if (g == null && module.equals("torch") && name.endsWith("Storage")) {
            try {
                g = new StorageClass(name, DType.fromTorchStorage(name));
            } catch (IllegalArgumentException unknown) {
                throw error("pickle references unsupported storage type 'torch." + name + "'");
            }
        }
        if (g == null) throw error("pickle references forbidden global '" + printable(qualified) + "'");
        return g;
    }

    private Object reduce(Object callable, Object args, long at) {
        if (!(callable instanceof Callable c)) {
            throw error("pickle REDUCE at offset " + at + " calls " + describe(callable) + ", which is not allowed");
        }
        if (!(args instanceof Tuple t)) throw error("pickle REDUCE at offset " + at + " without an argument tuple");
        return switch (c) {
            case ORDERED_DICT -> {
                if (t.size() != 0) throw error("pickle calls OrderedDict with arguments at offset " + at);
                yield new Dict();
            }
            case REBUILD_TENSOR_V2 -> rebuildTensor(t, at);
            case REBUILD_PARAMETER, REBUILD_PARAMETER_WITH_STATE -> {
                // (data, requires_grad, backward_hooks[, state]): the parameter is its data for inference.
                int arity = c == Callable.REBUILD_PARAMETER ? 3 : 4;
                if (t.size() != arity || !(t.get(0) instanceof Tensor data)) {
                    throw error("pickle rebuilds a parameter at offset " + at + " with unexpected arguments");
                }
                yield data;
            }
        };
    }

    /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
    private Tensor rebuildTensor(Tuple t, long at) {
        if (t.size() != 6 && t.size() != 7) {
            throw error("pickle rebuilds a tensor at offset " + at + " with " + t.size() + " arguments, expected 6 or 7");
        }
        if (!(t.get(0) instanceof Storage storage) || !(t.get(1) instanceof Long offset)
                || !(t.get(2) instanceof Tuple size) || !(t.get(3) instanceof Tuple stride)
                || !(t.get(4) instanceof Boolean) || !(t.get(5) instanceof Dict)
                || (t.size() == 7 && !(t.get(6) == null || t.get(6) instanceof Dict))) {
            throw error("pickle rebuilds a tensor at offset " + at + " with arguments of unexpected types");
        }
        long[] shape = longs(size, "size", at);
        long[] strides = longs(stride, "stride", at);
        if (shape.length != strides.length) {
            throw error("tensor rebuilt at offset " + at + " has " + shape.length + " sizes but " + strides.length
                    + " strides");
        }
        long numel = 1;
        for (long d : shape) {
            if (d < 0) throw error("tensor rebuilt at offset " + at + " has a negative size " + Arrays.toString(shape));
            try {
                numel = Math.multiplyExact(numel, d);
            } catch (ArithmeticException overflow) {
                throw error("tensor rebuilt at offset " + at + " has too many elements " + Arrays.toString(shape));
            }
        }
        if (offset < 0 || offset > storage.numel()) {
            throw error("tensor rebuilt at offset " + at + " has storage offset " + offset + " outside storage '"
                    + printable(storage.key()) + "' of " + storage.numel() + " elements");
        }
        if (numel > 0) {
            long expected = 1;
            for (int i = shape.length - 1; i >= 0; i--) {
                // torch's is_contiguous ignores the stride of size-1 dimensions
                if (shape[i] != 1 && strides[i] != expected) {
                    throw error("tensor rebuilt at offset " + at + " with shape " + Arrays.toString(shape)
                            + " has non-contiguous strides " + Arrays.toString(strides)
                            + " (only contiguous row-major tensors can be mapped)");
                }
                expected *= shape[i];
            }
            if (numel > storage.numel() - offset) {
                throw error("tensor rebuilt at offset " + at + " with shape " + Arrays.toString(shape)
                        + " at storage offset " + offset + " needs " + numel + " elements but storage '"
                        + printable(storage.key()) + "' holds " + storage.numel());
            }
        }
        return new Tensor(storage, offset, shape, strides);
    }

    private Storage persistentLoad(Object pid) {
        if (!(pid instanceof Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))
                || !(t.get(1) instanceof StorageClass type) || !(t.get(2) instanceof String key)
                || !(t.get(3) instanceof String location) || !(t.get(4) instanceof Long numel) || numel < 0) {
            throw error("pickle persistent id is not ('storage', <type>Storage, key, location, numel)");
        }
        return new Storage(key, type.dtype(), numel, location);
    }

    private long[] longs(Tuple t, String what, long at) {
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(t.get(i) instanceof Long v)) throw error("tensor " + what + " at offset " + at + " is not integers");
            out[i] = v;
        }
        return out;
    }

    private void putAll(Dict dict, List<Object> keysAndValues) {
        if (keysAndValues.size() % 2 != 0) throw error("pickle sets a dict item without a value");
        for (int i = 0; i < keysAndValues.size(); i += 2) {
            Object key = keysAndValues.get(i);
            // Scalar keys only: hashing a container could recurse forever on a cyclic structure.
            if (!(key instanceof String || key instanceof Long || key instanceof Boolean || key instanceof Double
                    || key == null)) {
                throw error("pickle uses " + describe(key) + " as a dict key");
            }
            dict.put(key, keysAndValues.get(i + 1));
        }
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (o instanceof ArrayList<?> l) return (List<Object>) l;
        throw error("pickle appends to " + describe(o) + ", expected a list");
    }

    private Dict dict(Object o) {
        if (o instanceof Dict d) return d;
        throw error("pickle sets an item of " + describe(o) + ", expected a dict");
    }

    private void push(Object o) {
        if (stack.size() >= limits.maxPickleStack()) {
            throw error("pickle stack exceeds the limit of " + limits.maxPickleStack() + " values");
        }
        stack.add(o);
    }

    private Object pop() {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() <= floor) throw error("pickle stack underflow at offset " + (pos - 1));
        return stack.removeLast();
    }

    private Object peek() {
        int floor = marks.isEmpty() ? 0 : marks.getLast();
        if (stack.size() <= floor) throw error("pickle stack underflow at offset " + (pos - 1));
        return stack.getLast();
    }

    private List<Object> popToMark() {
        if (marks.isEmpty()) throw error("pickle has no MARK before offset " + (pos - 1));
        int mark = marks.removeLast();
        List<Object> top = stack.subList(mark, stack.size());
        List<Object> items = new ArrayList<>(top);
        top.clear();
        return items;
    }

    private void memoPut(long index) {
        Object top = peek();
        if (!memo.containsKey(index) && memo.size() >= limits.maxPickleMemo()) {
            throw error("pickle memo exceeds the limit of " + limits.maxPickleMemo() + " entries");
        }
        memo.put(index, top);
    }

    private void memoGet(long index) {
        if (!memo.containsKey(index)) throw error("pickle reads memo entry " + index + " before it is written");
        push(memo.get(index));
    }

    private int u8() {
        need(1);
        return Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, pos++));
    }

    private int read(ValueLayout.OfInt layout, int size) {
        need(size);
        int v = in.get(layout, pos);
        pos += size;
        return v;
    }

    private short read(ValueLayout.OfShort layout, int size) {
        need(size);
        short v = in.get(layout, pos);
        pos += size;
        return v;
    }

    private double read(ValueLayout.OfDouble layout, int size) {
        need(size);
        double v = in.get(layout, pos);
        pos += size;
        return v;
    }

    private long u32Length() {
        return Integer.toUnsignedLong(read(I32, 4));
    }

    private long u64Length() {
        need(8);
        long v = in.get(I64, pos);
        pos += 8;
        return v;
    }

    private void skip(long n) {
        need(n);
        pos += n;
    }

    private long long1() {
        int n = u8();
        if (n > 8) throw error("pickle integer of " + n + " bytes at offset " + (pos - 2) + " is too large");
        need(n);
        long v = 0;
        for (int i = 0; i < n; i++) v |= (long) Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, pos + i)) << (8 * i);
        if (n > 0 && n < 8 && (v >>> (8 * n - 1) & 1) != 0) v |= -1L << (8 * n); // sign-extend two's complement
        pos += n;
        return v;
    }

    private String string(long length) {
        if (length < 0 || length > limits.maxStringBytes()) {
            throw error("pickle string of " + Long.toUnsignedString(length) + " bytes at offset " + pos
                    + " exceeds the limit of " + limits.maxStringBytes() + " bytes");
        }
        need(length);
        ByteBuffer bytes = in.asSlice(pos, length).asByteBuffer();
        pos += length;
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw error("pickle string at offset " + (pos - length) + " is not valid UTF-8");
        }
    }

    /** A newline-terminated ASCII line of the text-mode GLOBAL opcode. */
    private String line() {
        StringBuilder sb = new StringBuilder();
        while (true) {
            int b = u8();
            if (b == '\n') return sb.toString();
            if (sb.length() >= MAX_GLOBAL_LINE) throw error("pickle GLOBAL name longer than " + MAX_GLOBAL_LINE);
            sb.append((char) b);
        }
    }

    private void need(long n) {
        if (n > in.byteSize() - pos) {
            throw error("pickle is truncated: needs " + n + " more bytes at offset " + pos + " of " + in.byteSize());
        }
    }

    private ChatGlmException error(String problem) {
        return new ChatGlmException(source + ": " + problem);
    }

    /** Keeps messages on one line whatever a hostile file puts into a name. */
    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().limit(200).forEach(c -> {
            if (c < 0x20 || c == 0x7f) sb.append(String.format("\\x%02x", c));
            else sb.appendCodePoint(c);
        });
        return s.codePointCount(0, s.length()) > 200 ? sb + "..." : sb.toString();
    }

    /** A type name for messages; never walks into containers. */
    private static String describe(Object o) {
        return switch (o) {
            case null -> "None";
            case Dict d -> "a dict";
            case List<?> l -> "a list";
            case Tuple t -> "a tuple of " + t.size();
            case String s -> "a string";
            case Long l -> "an int";
            case Double d -> "a float";
            case Boolean b -> "a bool";
            case Storage s -> "a storage";
            case Tensor t -> "a tensor";
            case Callable c -> "a global function";
            case StorageClass c -> "the class torch." + c.name();
            default -> "an object";
        };
    }
}
