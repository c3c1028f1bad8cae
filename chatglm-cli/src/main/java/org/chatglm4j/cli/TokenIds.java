package org.chatglm4j.cli;

import org.chatglm4j.ChatGlmException;
import picocli.CommandLine;

/** Token ids given on the command line ({@code --ids 1,2,3}). */
record TokenIds(int[] values) {
    /** Longer lists are not typed by hand: refuse them before allocating. */
    static final int MAX_IDS = 1 << 20;

    /** {@code 1,2,3}; spaces and surrounding brackets are allowed, as in a pasted JSON array. */
    static final class Converter implements CommandLine.ITypeConverter<TokenIds> {
        @Override
        public TokenIds convert(String value) {
            String s = value.strip();
            if (s.startsWith("[") && s.endsWith("]")) s = s.substring(1, s.length() - 1).strip();
            if (s.isEmpty()) throw new CommandLine.TypeConversionException("no token ids in '" + value + "'");
            String[] parts = s.split("\\s*[,\\s]\\s*");
            if (parts.length > MAX_IDS) {
                throw new CommandLine.TypeConversionException("more than " + MAX_IDS + " token ids");
            }
            int[] ids = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    ids[i] = Integer.parseInt(parts[i]);
                } catch (NumberFormatException e) {
                    throw new CommandLine.TypeConversionException("'" + parts[i] + "' is not a token id (expected "
                            + "integers separated by commas, like 5,6,7)");
                }
            }
            return new TokenIds(ids);
        }
    }

    /** @throws ChatGlmException naming the first id outside {@code [0, vocabSize)} */
    static void checkRange(int[] ids, int vocabSize, String what) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) {
                throw new ChatGlmException(what + ": id " + ids[i] + " (at index " + i + ") is outside the "
                        + "vocabulary of " + vocabSize + " tokens (0.." + (vocabSize - 1) + ")");
            }
        }
    }
}
