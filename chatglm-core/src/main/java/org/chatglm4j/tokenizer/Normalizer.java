package org.chatglm4j.tokenizer;

import org.chatglm4j.ChatGlmException;

import java.util.Arrays;

/**
 * SentencePiece's normalizer: rewrites the UTF-8 input by the longest-matching rule of the precompiled charsmap
 * (e.g. nmt_nfkc: full-width → ASCII, ligatures split, NBSP → space, zero-width characters removed), leaves
 * user-defined pieces untouched, turns malformed bytes into U+FFFD, removes leading, trailing and repeated spaces,
 * adds the dummy "▁" prefix and escapes spaces as U+2581 — exactly as SentencePiece 0.1.97 does, byte for byte.
 *
 * <p>The charsmap is {@code <u32 little-endian trie size><darts-clone double array><NUL-terminated outputs>}; a trie
 * value is the offset of the replacement string in the outputs. The trie is read in place (an int per unit) and
 * every index is checked, so a corrupt charsmap fails with a {@link ChatGlmException} instead of an index error.
 */
final class Normalizer {
    private static final byte[] SPACE_SYMBOL = {(byte) 0xE2, (byte) 0x96, (byte) 0x81}; // U+2581 "▁"
    private static final byte[] REPLACEMENT = {(byte) 0xEF, (byte) 0xBF, (byte) 0xBD}; // U+FFFD

    private final String source;
    private final int[] units;          // darts-clone units; empty = identity normalization
    private final byte[] outputs;       // NUL-terminated replacement strings
    private final BytesTrie userDefined; // pieces that bypass normalization; may be empty
    private final boolean addDummyPrefix;
    private final boolean removeExtraWhitespaces;
    private final boolean escapeWhitespaces;
    private final boolean treatWhitespaceAsSuffix;

    Normalizer(NormalizerSpec spec, boolean treatWhitespaceAsSuffix, BytesTrie userDefined, String source) {
        this.source = source;
        this.userDefined = userDefined;
        this.addDummyPrefix = spec.addDummyPrefix();
        this.removeExtraWhitespaces = spec.removeExtraWhitespaces();
        this.escapeWhitespaces = spec.escapeWhitespaces();
        this.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix;
        byte[] blob = spec.precompiledCharsmap();
        if (blob.length == 0) {
            units = new int[0];
            outputs = new byte[0];
            return;
        }
        if (blob.length <= 4) throw corrupt("the blob is only " + blob.length + " bytes");
        long trieBytes = le32(blob, 0) & 0xFFFFFFFFL;
        if (trieBytes > blob.length - 4L) {
            throw corrupt("its trie size " + trieBytes + " exceeds the blob (" + blob.length + " bytes)");
        }
        int n = (int) (trieBytes / 4);
        if (n == 0) throw corrupt("its trie is empty");
        units = new int[n];
        for (int i = 0; i < n; i++) units[i] = le32(blob, 4 + 4 * i);
        outputs = Arrays.copyOfRange(blob, 4 + (int) trieBytes, blob.length);
    }

    private static int le32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }

    private ChatGlmException corrupt(String problem) {
        return new ChatGlmException(source + ": invalid precompiled_charsmap of the normalizer: " + problem);
    }

    /** Normalizes UTF-8 {@code input} and returns the normalized UTF-8 bytes (the string the segmenter sees). */
    byte[] normalize(byte[] input) {
        int pos = 0;
        int end = input.length;
        if (end == 0) return new byte[0];
        Prefix p = new Prefix();
        p.userDefined = userDefined.cursor();
        if (removeExtraWhitespaces) {
            while (pos < end) {
                normalizePrefix(input, pos, end, p);
                if (!p.isSingleSpace()) break;
                pos += p.consumed;
            }
        }
        if (pos == end) return new byte[0];

        Sink out = new Sink(Math.max(16, (end - pos) * 3));
        if (!treatWhitespaceAsSuffix && addDummyPrefix) addSpace(out);
        boolean prevSpace = removeExtraWhitespaces;
        while (pos < end) {
            normalizePrefix(input, pos, end, p);
            int from = p.from;
            int to = p.to;
            // Drops the spaces this piece starts with when the previous one ended with a space.
            while (prevSpace && from < to && p.bytes[from] == ' ') from++;
            if (from < to) {
                for (int i = from; i < to; i++) {
                    byte c = p.bytes[i];
                    if (escapeWhitespaces && c == ' ') out.add(SPACE_SYMBOL);
                    else out.add(c);
                }
                prevSpace = p.bytes[to - 1] == ' ';
            }
            pos += p.consumed;
            if (!removeExtraWhitespaces) prevSpace = false;
        }
        if (removeExtraWhitespaces) {
            if (escapeWhitespaces) {
                while (out.endsWith(SPACE_SYMBOL)) out.size -= SPACE_SYMBOL.length;
            } else {
                while (out.size > 0 && out.data[out.size - 1] == ' ') out.size--;
            }
        }
        if (treatWhitespaceAsSuffix && addDummyPrefix) addSpace(out);
        return Arrays.copyOf(out.data, out.size);
    }

    private void addSpace(Sink out) {
        if (escapeWhitespaces) out.add(SPACE_SYMBOL);
        else out.add((byte) ' ');
    }

    /** The normalization of the longest matching prefix: bytes[from, to) replaces input bytes [pos, pos+consumed). */
    private static final class Prefix {
        BytesTrie.Cursor userDefined;
        byte[] bytes;
        int from;
        int to;
        int consumed;

        boolean isSingleSpace() {
            return to - from == 1 && bytes[from] == ' ';
        }
    }

    /** SentencePiece's {@code NormalizePrefix}. */
    private void normalizePrefix(byte[] in, int pos, int end, Prefix p) {
        if (userDefined.size() > 0) {
            int len = p.userDefined.longestPrefix(in, pos, end);
            if (len > 0) {
                set(p, in, pos, pos + len, len);
                return;
            }
        }
        if (units.length > 0) {
            long match = longestRule(in, pos, end);
            if (match != 0) {
                int length = (int) (match >>> 32);
                int value = (int) match;
                if (value >= outputs.length) throw corrupt("a rule points past the replacement strings");
                int stop = value;
                while (stop < outputs.length && outputs[stop] != 0) stop++;
                set(p, outputs, value, stop, length);
                return;
            }
        }
        int len = Utf8.validLength(in, pos, end);
        if (len == 0) {
            set(p, REPLACEMENT, 0, REPLACEMENT.length, 1); // malformed byte: U+FFFD, one byte consumed
        } else {
            set(p, in, pos, pos + len, len);
        }
    }

    private static void set(Prefix p, byte[] bytes, int from, int to, int consumed) {
        p.bytes = bytes;
        p.from = from;
        p.to = to;
        p.consumed = consumed;
    }

    /**
     * darts-clone {@code commonPrefixSearch}, keeping the longest match: returns {@code length << 32 | value}, or 0
     * when no rule matches at {@code pos}.
     */
    private long longestRule(byte[] in, int pos, int end) {
        int node = offset(units[0]);
        long best = 0;
        for (int i = pos; i < end; i++) {
            int label = in[i] & 0xFF;
            node ^= label;
            if (node < 0 || node >= units.length) throw corrupt("a trie index is out of range");
            int unit = units[node];
            if ((unit & 0x800000FF) != label) break; // leaf units carry the MSB, so they never match a label
            node ^= offset(unit);
            if (((unit >>> 8) & 1) == 1) { // has a leaf: its value is the replacement offset
                if (node < 0 || node >= units.length) throw corrupt("a trie index is out of range");
                int value = units[node] & 0x7FFFFFFF;
                best = ((long) (i + 1 - pos) << 32) | value;
            }
        }
        return best;
    }

    private static int offset(int unit) {
        return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
    }

    /** A growable byte buffer. */
    static final class Sink {
        byte[] data;
        int size;

        Sink(int capacity) {
            data = new byte[capacity];
        }

        void add(byte b) {
            if (size == data.length) data = Arrays.copyOf(data, size * 2);
            data[size++] = b;
        }

        void add(byte[] b) {
            for (byte x : b) add(x);
        }

        boolean endsWith(byte[] suffix) {
            if (size < suffix.length) return false;
            for (int i = 0; i < suffix.length; i++) {
                if (data[size - suffix.length + i] != suffix[i]) return false;
            }
            return true;
        }
    }
}
