package org.chatglm4j.tokenizer;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.chatglm4j.ChatGlmException;

/**
 * Jazzer on the SentencePiece protobuf reader ({@code ice_text.model}): any bytes give a model or a
 * {@link ChatGlmException}; a model that parses can also build a processor and encode text.
 */
class SentencePieceFuzzTest {

    @FuzzTest(maxDuration = "2m")
    void modelProto(byte[] data) {
        SentencePieceModel model;
        try {
            model = SentencePieceModel.parse(data, "fuzz");
        } catch (ChatGlmException expected) {
            return;
        }
        try {
            SentencePieceProcessor sp = new SentencePieceProcessor(model);
            sp.encodeAsIds("Hello 你好 <n> x");
        } catch (ChatGlmException expected) {
            // a clear error
        }
    }
}
