package org.chatglm4j.io;

import org.chatglm4j.ChatGlmException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.chatglm4j.io.PickleBuilder.contiguous;

/** The pickle VM accepts what torch.save writes for a state dict and nothing else, without executing anything. */
class SafeUnpicklerTest {
    private static final String SOURCE = "model.bin [archive/data.pkl]";

    private static Map<String, SafeUnpickler.Tensor> stateDict(byte[] pickle) {
        return SafeUnpickler.loadStateDict(MemorySegment.ofArray(pickle), SOURCE, CheckpointLimits.DEFAULT);
    }

    private static void assertRejected(byte[] pickle, CheckpointLimits limits, String expected) {
        assertThatThrownBy(() -> SafeUnpickler.loadStateDict(MemorySegment.ofArray(pickle), SOURCE, limits))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith(SOURCE + ": ")
                .hasMessageContaining(expected)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    private static void assertRejected(byte[] pickle, String expected) {
        assertRejected(pickle, CheckpointLimits.DEFAULT, expected);
    }

    /** {@code OrderedDict(name → HalfStorage tensor of shape)} in torch.save's protocol 2 form. */
    private static PickleBuilder stateDictStart() {
        return new PickleBuilder().proto(2).orderedDict().put(0).mark();
    }

    @Test
    void readsTorchSaveProtocol2() {
        byte[] p = stateDictStart()
                .unicode("a").tensor("HalfStorage", "0", 6, 0, new long[]{2, 3}, contiguous(2, 3))
                .unicode("b").tensor("FloatStorage", "1", 4, 0, new long[]{4}, contiguous(4))
                .setitems().stop().bytes();
        Map<String, SafeUnpickler.Tensor> sd = stateDict(p);
        assertThat(sd.keySet()).containsExactly("a", "b");
        SafeUnpickler.Tensor a = sd.get("a");
        assertThat(a.storage()).isEqualTo(new SafeUnpickler.Storage("0", DType.F16, 6, "cpu"));
        assertThat(a.shape()).containsExactly(2, 3);
        assertThat(a.stride()).containsExactly(3, 1);
        assertThat(sd.get("b").storage().dtype()).isEqualTo(DType.F32);
    }

    @Test
    void readsProtocol4StyleWithFramesMemoizeAndStackGlobal() {
        PickleBuilder b = new PickleBuilder().proto(4).frame(1000)
                .stackGlobal("collections", "OrderedDict").memoize() // memo 0
                .emptyTuple().reduce().memoize() // memo 1: the dict
                .mark()
                .shortUnicode("w")
                .stackGlobal("torch._utils", "_rebuild_tensor_v2").memoize() // memo 2
                .mark().mark().shortUnicode("storage").stackGlobal("torch", "BFloat16Storage").memoize()
                .shortUnicode("7").shortUnicode("cuda:0").integer(12).tuple().persid()
                .integer(2).tupleOf(10).tupleOf(1).newFalse().get(0).emptyTuple().reduce().tuple().reduce()
                .shortUnicode("big").get(2)
                .mark().mark().shortUnicode("storage").stackGlobal("torch", "CharStorage").shortUnicode("8")
                .shortUnicode("cpu").integer(70000L * 70000L).tuple().persid()
                .integer(0).tupleOf(70000, 70000).tupleOf(70000, 1).newFalse().get(0).emptyTuple().reduce()
                .tuple().reduce()
                .setitems().stop();
        Map<String, SafeUnpickler.Tensor> sd = stateDict(b.bytes());
        assertThat(sd.get("w").storage()).isEqualTo(new SafeUnpickler.Storage("7", DType.BF16, 12, "cuda:0"));
        assertThat(sd.get("w").storageOffset()).isEqualTo(2);
        assertThat(sd.get("big").shape()).containsExactly(70000, 70000);
        assertThat(sd.get("big").storage().numel()).isEqualTo(70000L * 70000L); // LONG1
    }

    @Test
    void acceptsParametersAndTorch2MetadataArgument() {
        PickleBuilder b = new PickleBuilder().proto(2).emptyDict().mark()
                .unicode("p").global("torch._utils", "_rebuild_parameter").mark()
                .tensor("FloatStorage", "0", 3, 0, new long[]{3}, contiguous(3))
                .op(0x88).orderedDict().tuple().reduce()
                .unicode("s").global("torch._utils", "_rebuild_parameter_with_state").mark()
                .tensor("FloatStorage", "1", 3, 0, new long[]{3}, contiguous(3))
                .newFalse().orderedDict().emptyDict().tuple().reduce()
                .unicode("m").global("torch._utils", "_rebuild_tensor_v2").mark()
                .storage("HalfStorage", "2", 2).integer(0).tupleOf(2).tupleOf(1).newFalse().orderedDict()
                .emptyDict().tuple().reduce()
                .setitems().stop();
        Map<String, SafeUnpickler.Tensor> sd = stateDict(b.bytes());
        assertThat(sd.keySet()).containsExactly("p", "s", "m");
        assertThat(sd.get("p").storage().key()).isEqualTo("0");
        assertThat(sd.get("m").shape()).containsExactly(2);
    }

    @Test
    void orderedDictMetadataIsAcceptedAndIgnored() {
        // state_dict()._metadata = OrderedDict({'': {'version': 1}}), pickled as BUILD state {'_metadata': ...}
        byte[] p = stateDictStart()
                .unicode("x").tensor("HalfStorage", "0", 1, 0, new long[]{}, new long[]{})
                .setitems()
                .emptyDict().unicode("_metadata").orderedDict().mark().unicode("").emptyDict().unicode("version")
                .integer(1).setitem().setitems().setitem().build().stop().bytes();
        assertThat(stateDict(p).get("x").shape()).isEmpty();
    }

    @Test
    void forbiddenGlobalIsRefusedWhenNamed() {
        // the classic exploit: os.system('...') — refused at the GLOBAL, so the bytes after it do not matter
        byte[] exploit = new PickleBuilder().proto(2).global("os", "system").mark().unicode("touch /tmp/pwned")
                .tuple().reduce().stop().bytes();
        assertThatThrownBy(() -> stateDict(exploit)).isInstanceOf(ChatGlmException.class)
                .hasMessage(SOURCE + ": pickle references forbidden global 'os.system'");
        byte[] truncatedAfterGlobal = new PickleBuilder().proto(2).global("os", "system").bytes();
        assertRejected(truncatedAfterGlobal, "forbidden global 'os.system'");
    }

    @Test
    void forbiddenGlobalsInEveryForm() {
        assertRejected(new PickleBuilder().proto(4).stackGlobal("builtins", "eval").bytes(),
                "forbidden global 'builtins.eval'");
        assertRejected(new PickleBuilder().proto(2).global("torch._utils", "_rebuild_tensor").bytes(),
                "forbidden global 'torch._utils._rebuild_tensor'");
        assertRejected(new PickleBuilder().proto(2).global("torch", "load").bytes(), "forbidden global 'torch.load'");
        assertRejected(new PickleBuilder().proto(2).global("torch", "ComplexFloatStorage").bytes(),
                "unsupported storage type 'torch.ComplexFloatStorage'");
        assertRejected(new PickleBuilder().proto(2).global("subprocess", "Popen\u0007").bytes(),
                "forbidden global 'subprocess.Popen\\x07'");
        // deep inside an otherwise valid state dict
        byte[] nested = stateDictStart()
                .unicode("a").tensor("HalfStorage", "0", 2, 0, new long[]{2}, contiguous(2))
                .unicode("b").global("posix", "system").bytes();
        assertRejected(nested, "forbidden global 'posix.system'");
    }

    @Test
    void reduceOnlyCallsTheAllowedFunctions() {
        assertRejected(new PickleBuilder().proto(2).global("torch", "HalfStorage").mark().integer(10).tuple()
                .reduce().stop().bytes(), "calls the class torch.HalfStorage, which is not allowed");
        assertRejected(new PickleBuilder().proto(2).unicode("x").emptyTuple().reduce().stop().bytes(),
                "calls a string, which is not allowed");
        assertRejected(new PickleBuilder().proto(2).global("collections", "OrderedDict").mark().emptyList().tuple()
                .reduce().stop().bytes(), "calls OrderedDict with arguments");
        assertRejected(new PickleBuilder().proto(2).global("torch._utils", "_rebuild_tensor_v2").mark().integer(1)
                .tuple().reduce().stop().bytes(), "with 1 arguments, expected 6 or 7");
    }

    @Test
    void buildOnlyOnDicts() {
        byte[] onTensor = stateDictStart().unicode("a")
                .tensor("HalfStorage", "0", 2, 0, new long[]{2}, contiguous(2)).emptyDict().build().bytes();
        assertRejected(onTensor, "BUILD at offset");
        assertRejected(new PickleBuilder().proto(2).emptyList().emptyDict().build().stop().bytes(),
                "on a list with a dict is not allowed");
    }

    @ParameterizedTest
    @ValueSource(ints = {'i', 'o', 0x81, 'P', 'g', 0xff, 0x00, '0', 'S'})
    void unknownOpcodesAreRefused(int opcode) {
        byte[] p = new PickleBuilder().proto(2).op(opcode).raw("xx\nyy\n".getBytes()).stop().bytes();
        assertRejected(p, String.format("pickle opcode 0x%02x", opcode));
        assertRejected(p, "at offset 2 is not supported");
    }

    @Test
    void protocolNewerThan5IsRefused() {
        assertRejected(new PickleBuilder().proto(6).emptyDict().stop().bytes(), "pickle protocol 6 is not supported");
    }

    @Test
    void nonContiguousOrOversizedTensorsAreRefused() {
        byte[] transposed = stateDictStart().unicode("t")
                .tensor("HalfStorage", "0", 6, 0, new long[]{2, 3}, new long[]{1, 2}).setitems().stop().bytes();
        assertRejected(transposed, "non-contiguous strides [1, 2]");
        byte[] tooBig = stateDictStart().unicode("t")
                .tensor("HalfStorage", "0", 6, 1, new long[]{2, 3}, contiguous(2, 3)).setitems().stop().bytes();
        assertRejected(tooBig, "needs 6 elements but storage '0' holds 6");
        byte[] offsetOutside = stateDictStart().unicode("t")
                .tensor("HalfStorage", "0", 6, 7, new long[]{0}, contiguous(0)).setitems().stop().bytes();
        assertRejected(offsetOutside, "storage offset 7 outside storage '0' of 6 elements");
        byte[] overflow = stateDictStart().unicode("t")
                .tensor("HalfStorage", "0", 6, 0, new long[]{1L << 40, 1L << 40}, new long[]{1L << 40, 1})
                .setitems().stop().bytes();
        assertRejected(overflow, "too many elements");
        byte[] rankMismatch = stateDictStart().unicode("t")
                .tensor("HalfStorage", "0", 6, 0, new long[]{2, 3}, new long[]{1}).setitems().stop().bytes();
        assertRejected(rankMismatch, "2 sizes but 1 strides");
        // size-1 dimensions may carry any stride, as torch's is_contiguous allows
        byte[] unitDims = stateDictStart().unicode("t")
                .tensor("HalfStorage", "0", 6, 0, new long[]{1, 6, 1}, new long[]{99, 1, 5}).setitems().stop().bytes();
        assertThat(stateDict(unitDims).get("t").shape()).containsExactly(1, 6, 1);
    }

    @Test
    void persistentIdMustBeAStorageTuple() {
        assertRejected(new PickleBuilder().proto(2).mark().unicode("module").unicode("x").tuple().persid().stop()
                .bytes(), "persistent id is not ('storage'");
        assertRejected(new PickleBuilder().proto(2).unicode("storage").persid().stop().bytes(),
                "persistent id is not ('storage'");
    }

    @Test
    void stateDictShapeIsChecked() {
        assertRejected(new PickleBuilder().proto(2).emptyList().stop().bytes(), "holds a list, expected a state dict");
        assertRejected(new PickleBuilder().proto(2).emptyDict().unicode("n").integer(3).setitem().stop().bytes(),
                "state dict entry 'n' is an int, expected a tensor");
        assertRejected(new PickleBuilder().proto(2).emptyDict().integer(3).unicode("n").setitem().stop().bytes(),
                "state dict has an int as a key");
    }

    @Test
    void malformedStreamsFailCleanly() {
        assertRejected(new PickleBuilder().proto(2).emptyDict().bytes(), "pickle is truncated");
        assertRejected(new PickleBuilder().bytes(), "pickle is truncated");
        assertRejected(new PickleBuilder().proto(2).emptyDict().emptyDict().stop().bytes(), "unbalanced stack");
        assertRejected(new PickleBuilder().proto(2).setitem().bytes(), "stack underflow");
        assertRejected(new PickleBuilder().proto(2).tuple().bytes(), "no MARK");
        assertRejected(new PickleBuilder().proto(2).get(5).bytes(), "memo entry 5 before it is written");
        assertRejected(new PickleBuilder().proto(2).mark().emptyDict().setitem().bytes(), "stack underflow");
        assertRejected(new PickleBuilder().proto(2).integer(1).emptyTuple().op('a').bytes(),
                "appends to an int, expected a list");
        assertRejected(new PickleBuilder().proto(2).op(0x8a).op(9).raw(new byte[9]).bytes(), "integer of 9 bytes");
        assertRejected(new PickleBuilder().proto(2).op('X').raw((byte) 2, (byte) 0, (byte) 0, (byte) 0,
                (byte) 0xc3, (byte) 0x28).bytes(), "not valid UTF-8");
    }

    @Test
    void cyclicStructuresCannotBeUsedAsKeys() {
        // l = []; l.append((l,)); {(l,): 1} — hashing would recurse forever; only scalar keys are accepted
        byte[] p = new PickleBuilder().proto(2).emptyList().put(0).get(0).op(0x85).put(1).append()
                .emptyDict().get(1).integer(1).setitem().stop().bytes();
        assertRejected(p, "uses a tuple of 1 as a dict key");
    }

    @Test
    void limitsBoundStackMemoAndStrings() {
        CheckpointLimits small = new CheckpointLimits(1 << 20, 100, 10, 64, 1 << 20, 100);
        PickleBuilder deep = new PickleBuilder().proto(2);
        for (int i = 0; i < 101; i++) deep.integer(i);
        assertRejected(deep.bytes(), small, "stack exceeds the limit of 100 values");
        PickleBuilder marks = new PickleBuilder().proto(2);
        for (int i = 0; i < 101; i++) marks.mark();
        assertRejected(marks.bytes(), small, "nests MARKs too deeply");
        PickleBuilder memo = new PickleBuilder().proto(2).integer(1);
        for (int i = 0; i < 11; i++) memo.put(i);
        assertRejected(memo.bytes(), small, "memo exceeds the limit of 10 entries");
        PickleBuilder memoAgain = new PickleBuilder().proto(2).integer(1);
        for (int i = 0; i < 50; i++) memoAgain.put(3); // overwriting one entry is not growth
        assertRejected(memoAgain.bytes(), small, "pickle is truncated");
        assertRejected(new PickleBuilder().proto(2).unicode("x".repeat(65)).stop().bytes(), small,
                "string of 65 bytes");
        // a declared length of 4 GB in a tiny file: refused before any allocation
        assertRejected(new PickleBuilder().proto(2).op('X').raw((byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff)
                .bytes(), "string of 4294967295 bytes");
        assertRejected(new PickleBuilder().proto(2).op('X').raw((byte) 100, (byte) 0, (byte) 0, (byte) 0).bytes(),
                "pickle is truncated");
        assertRejected(new PickleBuilder().proto(2).op(0x8d).raw(new byte[]{-1, -1, -1, -1, -1, -1, -1, -1}).bytes(),
                "string of 18446744073709551615 bytes");
        CheckpointLimits tiny = new CheckpointLimits(8, 100, 10, 64, 1 << 20, 100);
        assertRejected(new PickleBuilder().proto(2).unicode("long enough").stop().bytes(), tiny,
                "pickle of 19 bytes exceeds the limit of 8 bytes");
    }

    @Test
    void genericValuesDecode() {
        Object v = SafeUnpickler.load(MemorySegment.ofArray(new PickleBuilder().proto(2).mark()
                .integer(-5).op(0x8a).op(2).raw((byte) 0x00, (byte) 0x80).op(0x8a).op(0).none().op(0x88)
                .op('G').raw((byte) 0x3f, (byte) 0xf8, (byte) 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0)
                .emptyList().mark().integer(1).integer(2).op('e').tuple().stop().bytes()), SOURCE,
                CheckpointLimits.DEFAULT);
        assertThat(v).isInstanceOf(SafeUnpickler.Tuple.class);
        List<Object> items = ((SafeUnpickler.Tuple) v).items();
        assertThat(items).containsExactly(-5L, -32768L, 0L, null, true, 1.5, List.of(1L, 2L));
    }
}
