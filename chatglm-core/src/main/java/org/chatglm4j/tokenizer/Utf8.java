package org.chatglm4j.tokenizer;

/**
 * UTF-8 rules exactly as SentencePiece applies them (its {@code string_util::DecodeUTF8}): a lead byte decides the
 * length, the trail bytes must be 10xxxxxx, overlong forms, surrogates and code points above U+10FFFF are invalid,
 * and an invalid sequence is always consumed one byte at a time.
 */
final class Utf8 {
    static final int REPLACEMENT = 0xFFFD;

    private Utf8() {
    }

    /** SentencePiece's {@code OneCharLen}: the length the lead byte announces, 1 for anything that is not a lead. */
    static int leadLength(byte lead) {
        int b = lead & 0xFF;
        if (b < 0xC0) return 1;
        if (b < 0xE0) return 2;
        if (b < 0xF0) return 3;
        return 4;
    }

    /**
     * Length of the valid character at {@code pos}, or 0 when the bytes there are not a valid UTF-8 character
     * (SentencePiece then treats one byte as U+FFFD). An encoded U+FFFD itself counts as valid, as in
     * {@code IsValidDecodeUTF8}.
     */
    static int validLength(byte[] b, int pos, int end) {
        int avail = end - pos;
        if (avail <= 0) return 0;
        int c0 = b[pos] & 0xFF;
        if (c0 < 0x80) return 1;
        if (avail >= 2 && (c0 & 0xE0) == 0xC0) {
            int cp = ((c0 & 0x1F) << 6) | (b[pos + 1] & 0x3F);
            return isTrail(b[pos + 1]) && cp >= 0x80 ? 2 : 0;
        }
        if (avail >= 3 && (c0 & 0xF0) == 0xE0) {
            int cp = ((c0 & 0x0F) << 12) | ((b[pos + 1] & 0x3F) << 6) | (b[pos + 2] & 0x3F);
            return isTrail(b[pos + 1]) && isTrail(b[pos + 2]) && cp >= 0x800 && isValidCodePoint(cp) ? 3 : 0;
        }
        if (avail >= 4 && (c0 & 0xF8) == 0xF0) {
            int cp = ((c0 & 0x07) << 18) | ((b[pos + 1] & 0x3F) << 12) | ((b[pos + 2] & 0x3F) << 6)
                    | (b[pos + 3] & 0x3F);
            return isTrail(b[pos + 1]) && isTrail(b[pos + 2]) && isTrail(b[pos + 3]) && cp >= 0x10000
                    && isValidCodePoint(cp) ? 4 : 0;
        }
        return 0;
    }

    /**
     * Whether the bytes from {@code pos} to {@code end} are too short to decide yet: they are a proper prefix of
     * some valid character, so more bytes could still complete it. Used by streaming decoding to hold them back.
     */
    static boolean isIncompletePrefix(byte[] b, int pos, int end) {
        int avail = end - pos;
        if (avail <= 0) return false;
        int c0 = b[pos] & 0xFF;
        int need;
        int cpLead;
        int min;
        if ((c0 & 0xE0) == 0xC0) {
            need = 2;
            cpLead = c0 & 0x1F;
            min = 0x80;
        } else if ((c0 & 0xF0) == 0xE0) {
            need = 3;
            cpLead = c0 & 0x0F;
            min = 0x800;
        } else if ((c0 & 0xF8) == 0xF0) {
            need = 4;
            cpLead = c0 & 0x07;
            min = 0x10000;
        } else {
            return false;
        }
        if (avail >= need) return false;
        int lo = cpLead;
        for (int i = 1; i < avail; i++) {
            if (!isTrail(b[pos + i])) return false;
            lo = (lo << 6) | (b[pos + i] & 0x3F);
        }
        int hi = lo;
        for (int i = avail; i < need; i++) {
            lo = lo << 6;
            hi = (hi << 6) | 0x3F;
        }
        // Every code point in [lo, hi] is reachable by some choice of the missing trail bytes.
        int from = Math.max(lo, min);
        int to = Math.min(hi, 0x10FFFF);
        if (from > to) return false;
        return from < 0xD800 || to > 0xDFFF;
    }

    static boolean isTrail(byte x) {
        return (x & 0xC0) == 0x80;
    }

    static boolean isValidCodePoint(int cp) {
        return cp < 0xD800 || (cp >= 0xE000 && cp <= 0x10FFFF);
    }

    /** UTF-8 bytes of a Java string; an unpaired surrogate (which has no UTF-8 form) becomes U+FFFD. */
    static byte[] encode(CharSequence s) {
        int n = s.length();
        byte[] out = new byte[n * 3];
        int o = 0;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            int cp = c;
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                cp = Character.toCodePoint(c, s.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                cp = REPLACEMENT;
            }
            o = put(out, o, cp);
        }
        return java.util.Arrays.copyOf(out, o);
    }

    /** Writes one code point (valid, not a surrogate) and returns the new position. */
    static int put(byte[] out, int o, int cp) {
        if (cp < 0x80) {
            out[o++] = (byte) cp;
        } else if (cp < 0x800) {
            out[o++] = (byte) (0xC0 | (cp >> 6));
            out[o++] = (byte) (0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out[o++] = (byte) (0xE0 | (cp >> 12));
            out[o++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (byte) (0x80 | (cp & 0x3F));
        } else {
            out[o++] = (byte) (0xF0 | (cp >> 18));
            out[o++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
            out[o++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
            out[o++] = (byte) (0x80 | (cp & 0x3F));
        }
        return o;
    }

    /** Code point of a character that {@link #validLength} accepted with length {@code len}. */
    static int decode(byte[] b, int pos, int len) {
        return switch (len) {
            case 1 -> b[pos] & 0x7F;
            case 2 -> ((b[pos] & 0x1F) << 6) | (b[pos + 1] & 0x3F);
            case 3 -> ((b[pos] & 0x0F) << 12) | ((b[pos + 1] & 0x3F) << 6) | (b[pos + 2] & 0x3F);
            default -> ((b[pos] & 0x07) << 18) | ((b[pos + 1] & 0x3F) << 12) | ((b[pos + 2] & 0x3F) << 6)
                    | (b[pos + 3] & 0x3F);
        };
    }

    /** Whether the bytes are entirely valid UTF-8 (by the rules above). */
    static boolean isValid(byte[] b) {
        int pos = 0;
        while (pos < b.length) {
            int len = validLength(b, pos, b.length);
            if (len == 0) return false;
            pos += len;
        }
        return true;
    }
}
