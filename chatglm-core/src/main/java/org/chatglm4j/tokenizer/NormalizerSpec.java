package org.chatglm4j.tokenizer;

/**
 * {@code ModelProto.normalizer_spec}: the rule set name (e.g. {@code nmt_nfkc}, informative only), the compiled
 * rules ({@code precompiled_charsmap}: a darts-clone double-array trie followed by the NUL-terminated replacement
 * strings; empty = identity) and the whitespace options. Defaults are the protobuf defaults (all true).
 */
public record NormalizerSpec(String name, byte[] precompiledCharsmap, boolean addDummyPrefix,
                             boolean removeExtraWhitespaces, boolean escapeWhitespaces) {
    /** Checks the fields. */
    public NormalizerSpec {
        precompiledCharsmap = precompiledCharsmap == null ? new byte[0] : precompiledCharsmap.clone();
        name = name == null ? "" : name;
    }

    /** A copy: the spec is a value. */
    @Override
    public byte[] precompiledCharsmap() {
        return precompiledCharsmap.clone();
    }

    /** Identity normalization with the given whitespace options. */
    public static NormalizerSpec identity(boolean addDummyPrefix, boolean removeExtraWhitespaces,
                                          boolean escapeWhitespaces) {
        return new NormalizerSpec("identity", new byte[0], addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces);
    }
}
