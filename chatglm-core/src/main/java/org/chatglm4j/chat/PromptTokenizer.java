package org.chatglm4j.chat;

/**
 * What the chat formats need of a tokenizer: v1 builds its prompt from text through the Hugging Face layer,
 * v2/v3 concatenate SentencePiece ids and special tokens themselves.
 */
public interface PromptTokenizer {

    /** {@code tokenizer([text]).input_ids}: the whole-text prompt as ChatGLM-6B / ChatGLM2-6B's chat() builds it. */
    int[] encodeForModel(String text);

    /** SentencePiece ids of {@code text} with its dummy prefix and no special tokens ({@code SPTokenizer.encode}). */
    int[] encode(String text);

    /** The id of a special token such as {@code [gMASK]}, {@code sop} or {@code <|user|>}. */
    int specialId(String token);

    /** {@code tokenizer.decode(ids)} as the reference's chat() calls it. */
    String decode(int[] ids);

    /** {@code tokenizer.eos_token_id}. */
    int eosId();

    /** ChatGLM2/3's tokenizer: {@code encode} is {@code SPTokenizer.encode}, what build_single_message uses. */
    static PromptTokenizer of(org.chatglm4j.tokenizer.Glm2Tokenizer t) {
        return new PromptTokenizer() {
            @Override
            public int[] encodeForModel(String text) {
                return t.encodeForModel(text);
            }

            @Override
            public int[] encode(String text) {
                return t.encodeSp(text);
            }

            @Override
            public int specialId(String token) {
                return t.specialId(token);
            }

            @Override
            public String decode(int[] ids) {
                return t.decode(ids);
            }

            @Override
            public int eosId() {
                return t.eosId();
            }
        };
    }

    /** ChatGLM-6B's tokenizer (its chat format only uses the Hugging Face layer). */
    static PromptTokenizer of(org.chatglm4j.tokenizer.ChatGlmTokenizer t) {
        return new PromptTokenizer() {
            @Override
            public int[] encodeForModel(String text) {
                return t.encodeForModel(text);
            }

            @Override
            public int[] encode(String text) {
                return t.encodeHfNoSpecial(text);
            }

            @Override
            public int specialId(String token) {
                int id = t.pieceToId(token);
                if (id < 0) throw new org.chatglm4j.ChatGlmException("the tokenizer has no token " + token);
                return id;
            }

            @Override
            public String decode(int[] ids) {
                return t.decodeForChat(ids);
            }

            @Override
            public int eosId() {
                return t.eosId();
            }
        };
    }
}
