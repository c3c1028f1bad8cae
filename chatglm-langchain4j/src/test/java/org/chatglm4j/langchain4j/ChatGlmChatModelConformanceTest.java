package org.chatglm4j.langchain4j;

import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.common.AbstractChatModelIT;
import dev.langchain4j.model.chat.request.ChatRequestParameters;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * LangChain4j's own conformance suite for {@link ChatModel}s, run in process. The capability switches (what
 * ChatGLM-6B cannot do) are listed with their reasons in the module's README.
 */
class ChatGlmChatModelConformanceTest extends AbstractChatModelIT {

    static ChatGlmChatModel.Builder builder() {
        ChatGlmChatModel.Builder b = ChatGlmChatModel.builder().runtime(TestModels.shared());
        // greedy on the fixture so that its random replies are the same on every run
        return TestModels.isReal() ? b : b.temperature(0.0);
    }

    @Override
    protected List<ChatModel> models() {
        return List.of(builder().build());
    }

    @Override
    protected ChatModel createModelWith(ChatRequestParameters parameters) {
        return builder().defaultRequestParameters(parameters).build();
    }

    @Override
    protected ChatRequestParameters createIntegrationSpecificParameters(int maxOutputTokens) {
        return ChatGlmChatRequestParameters.builder().maxOutputTokens(maxOutputTokens).build();
    }

    // one model per runtime: modelName can only name the loaded model
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
    protected void should_respect_user_message(ChatModel model) {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_user_message(model);
    }

    @Override
    @ParameterizedTest
    @MethodSource("models")
    protected void should_respect_system_message(ChatModel model) {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_system_message(model);
    }

    @Override
    @ParameterizedTest
    @MethodSource("models")
    protected void should_respect_multiple_messages(ChatModel model) {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_multiple_messages(model);
    }

    @Override
    @ParameterizedTest
    @MethodSource("models")
    protected void should_respect_stopSequences_in_chat_request(ChatModel model) {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_stopSequences_in_chat_request(model);
    }

    @Override
    @Test
    protected void should_respect_stopSequences_in_default_model_parameters() {
        assumeTrue(TestModels.isReal(), TestModels.CONTENT_NEEDS_REAL_MODEL);
        super.should_respect_stopSequences_in_default_model_parameters();
    }
}
