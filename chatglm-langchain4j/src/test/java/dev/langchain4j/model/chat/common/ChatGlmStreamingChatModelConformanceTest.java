package dev.langchain4j.model.chat.common;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import org.chatglm4j.langchain4j.ChatGlmChatRequestParameters;
import org.chatglm4j.langchain4j.ChatGlmStreamingChatModel;
import org.chatglm4j.langchain4j.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * LangChain4j's own conformance suite for {@link StreamingChatModel}s, run in process. It lives in LangChain4j's
 * test package because three of the suite's tests (user exceptions from the handler) are package-private and check
 * what the reply says: on the fixture model they are skipped here, and ChatGlmStreamingChatModelTest checks the
 * same callbacks without the content check. Capability switches: see the module's README.
 */
class ChatGlmStreamingChatModelConformanceTest extends AbstractStreamingChatModelIT {

    static ChatGlmStreamingChatModel.Builder builder() {
        ChatGlmStreamingChatModel.Builder b = ChatGlmStreamingChatModel.builder().runtime(TestModels.shared());
        return TestModels.isReal() ? b : b.temperature(0.0);
    }

    @Override
    protected List<StreamingChatModel> models() {
        return List.of(builder().build());
    }

    @Override
    protected StreamingChatModel createModelWith(ChatRequestParameters parameters) {
        return builder().defaultRequestParameters(parameters).build();
    }

    @Override
    public StreamingChatModel createModelWith(ChatModelListener listener) {
        return builder().listeners(List.of(listener)).build();
    }

    @Override
    protected ChatRequestParameters createIntegrationSpecificParameters(int maxOutputTokens) {
        return ChatGlmChatRequestParameters.builder().maxOutputTokens(maxOutputTokens).build();
    }

    @Override
    protected boolean supportsModelNameParameter() {
        return false;
    }

    @Override
    protected boolean supportsTools() {
        return false;
    }

    @Override
    protected boolean supportsToolChoiceRequired() {
        return false;
    }

    @Override
    protected boolean supportsJsonResponseFormat() {
        return false;
    }

    @Override
    protected boolean supportsJsonResponseFormatWithSchema() {
        return false;
    }

    @Override
    protected boolean supportsJsonResponseFormatWithRawSchema() {
        return false;
    }

    @Override
    protected boolean supportsSingleImageInputAsBase64EncodedString() {
        return false;
    }

    @Override
    protected boolean supportsSingleImageInputAsPublicURL() {
        return false;
    }

    // the checks of what a reply says run only against a real ChatGLM-6B

    @Override
    @ParameterizedTest
    @MethodSource("models")
    protected void should_respect_user_message(StreamingChatModel model) {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_user_message(model);
    }

    @Override
    @ParameterizedTest
    @MethodSource("models")
    protected void should_respect_system_message(StreamingChatModel model) {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_system_message(model);
    }

    @Override
    @ParameterizedTest
    @MethodSource("models")
    protected void should_respect_multiple_messages(StreamingChatModel model) {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_multiple_messages(model);
    }

    @Override
    @ParameterizedTest
    @MethodSource("models")
    protected void should_respect_stopSequences_in_chat_request(StreamingChatModel model) {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_stopSequences_in_chat_request(model);
    }

    @Override
    @Test
    protected void should_respect_stopSequences_in_default_model_parameters() {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_stopSequences_in_default_model_parameters();
    }

    @Override
    @Test
    void should_propagate_user_exceptions_thrown_from_onPartialResponse() throws Exception {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_propagate_user_exceptions_thrown_from_onPartialResponse();
    }

    @Override
    @Test
    void should_propagate_user_exceptions_thrown_from_onCompleteResponse() throws Exception {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_propagate_user_exceptions_thrown_from_onCompleteResponse();
    }

    @Override
    @Test
    void should_ignore_user_exceptions_thrown_from_onError() throws Exception {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_ignore_user_exceptions_thrown_from_onError();
    }
}
