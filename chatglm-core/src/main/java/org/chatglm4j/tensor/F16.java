package org.chatglm4j.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * IEEE half and bfloat16 to float32, scalar and vector. The Vector API has no half-float conversion, so the vector
 * path rebuilds the float bits: the 15 magnitude bits shifted into place and multiplied by 2¹¹² give the right
 * value for normal, subnormal and zero halves alike; infinities and NaNs are patched with a blend.
 */
public final class F16 {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private F16() {
    }

    /** IEEE half bits to float32, exactly. */
    public static float toFloat(short h) {
        return Float.float16ToFloat(h);
    }

    /** Float32 to IEEE half bits, rounding to nearest even (as torch's {@code .half()} does). */
    public static short fromFloat(float f) {
        return Float.floatToFloat16(f);
    }

    /** bfloat16 bits to float32, exactly (the bits shifted left by 16). */
    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat(b << 16);
    }

    /** Round-to-nearest-even float32 to bfloat16 (NaN stays NaN). */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** {@code F.length()} halves at byte offset {@code off} of {@code seg}, as floats. */
    static FloatVector loadHalves(MemorySegment seg, long off) {
        ShortVector h = ShortVector.fromMemorySegment(S, seg, off, LE);
        IntVector i = (IntVector) h.convertShape(VectorOperators.S2I, I, 0); // sign-extended
        IntVector magnitude = i.and(0x7FFF);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        FloatVector value = shifted.reinterpretAsFloats().mul(0x1p112f);
        VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7C00);
        IntVector bits = value.reinterpretAsInts().blend(shifted.or(0x7F800000), special);
        return bits.or(i.and(0x80000000)).reinterpretAsFloats();
    }

    /** {@code F.length()} bfloat16 values at byte offset {@code off}, as floats. */
    static FloatVector loadBf16(MemorySegment seg, long off) {
        ShortVector h = ShortVector.fromMemorySegment(S, seg, off, LE);
        IntVector i = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return i.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
