package org.chatglm4j.server;

import dev.langchain4j.model.chat.StreamingChatModel;
import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.common.AbstractStreamingChatModelIT;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.response.ChatResponseMetadata;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.openai.OpenAiChatRequestParameters;
import dev.langchain4j.model.openai.OpenAiChatResponseMetadata;
import dev.langchain4j.model.openai.OpenAiTokenUsage;
import dev.langchain4j.model.output.TokenUsage;
import org.chatglm4j.chat.BatchingEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * LangChain4j's own conformance suite for chat models ({@code AbstractStreamingChatModelIT} of langchain4j-core 1.19.0),
 * run through {@code langchain4j-open-ai} against the server and the fixture model. The capability switches
 * below say what ChatGLM-6B does not do; the tests that cannot hold here are switched off, each with its reason
 * ({@link Lc4jSwitchedOff}). Both lists, with reasons, are in docs/server.md ("Conformance").
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(Lc4jSwitchedOff.class)
class LangChain4jStreamingChatModelConformanceTest extends AbstractStreamingChatModelIT {
    private ChatServer server;
    private BatchingEngine engine;

    @BeforeAll
    void start() throws IOException {
        // a batching engine, so that a reply a test abandons does not hold up the next test
        engine = new BatchingEngine(Fixture.model(), 4, 16);
        server = ChatServer.start(ServerOptions.defaults().withPort(0).withMaxConcurrency(0).withModelName("chatglm-6b"), engine);
    }

    @AfterAll
    void stop() {
        server.close();
        engine.close();
    }

    private OpenAiStreamingChatModel.OpenAiStreamingChatModelBuilder builder() {
        return OpenAiStreamingChatModel.builder().baseUrl(server.uri() + "v1").apiKey("none").modelName("chatglm-6b")
                .timeout(Duration.ofSeconds(120));
    }

    /** Replies of the random-weight fixture model run to the context limit unless bounded: 48 tokens by default. */
    @Override
    protected List<StreamingChatModel> models() {
        return List.of(builder().maxTokens(48).build());
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
        return OpenAiChatRequestParameters.builder().maxOutputTokens(maxOutputTokens).build();
    }

    @Override
    protected Class<? extends ChatResponseMetadata> chatResponseMetadataType(StreamingChatModel model) {
        return OpenAiChatResponseMetadata.class;
    }

    @Override
    protected Class<? extends TokenUsage> tokenUsageType(StreamingChatModel model) {
        return OpenAiTokenUsage.class;
    }

    // ChatGLM-6B has no tool calling, no JSON mode or schemas and no image input: the server answers 400
    @Override protected boolean supportsTools() { return false; }
    @Override protected boolean supportsToolChoiceRequired() { return false; }
    @Override protected boolean supportsToolChoiceRequiredWithSingleTool() { return false; }
    @Override protected boolean supportsToolChoiceRequiredWithMultipleTools() { return false; }
    @Override protected boolean supportsJsonResponseFormat() { return false; }
    @Override protected boolean supportsJsonResponseFormatWithSchema() { return false; }
    @Override protected boolean supportsToolsAndJsonResponseFormatWithSchema() { return false; }
    @Override protected boolean supportsJsonResponseFormatWithRawSchema() { return false; }
    @Override protected boolean supportsSingleImageInputAsBase64EncodedString() { return false; }
    @Override protected boolean supportsMultipleImageInputsAsBase64EncodedStrings() { return false; }
    @Override protected boolean supportsSingleImageInputAsPublicURL() { return false; }
    @Override protected boolean supportsMultipleImageInputsAsPublicURLs() { return false; }

    // The suite's "fails if not supported" tests expect a client-side UnsupportedFeatureException; the server's
    // answer over the OpenAI protocol is a 400 naming what is not supported (see Lc4jRefusals):

    @ParameterizedTest
    @MethodSource("models")
    @Override
    protected void should_fail_if_tools_are_not_supported(StreamingChatModel model) {
        Lc4jRefusals.assertRefused(() -> chat(model, Lc4jRefusals.tools()), "tools are not supported");
    }

    @ParameterizedTest
    @MethodSource("models")
    @Override
    protected void should_fail_if_tool_choice_REQUIRED_is_not_supported(StreamingChatModel model) {
        Lc4jRefusals.assertRefused(() -> chat(model, Lc4jRefusals.toolChoiceRequired()), "tools are not supported");
    }

    @ParameterizedTest
    @MethodSource("models")
    @Override
    protected void should_fail_if_JSON_response_format_is_not_supported(StreamingChatModel model) {
        Lc4jRefusals.assertRefused(() -> chat(model, Lc4jRefusals.json()), "response_format");
    }

    @ParameterizedTest
    @MethodSource("models")
    @Override
    protected void should_fail_if_JSON_response_format_with_schema_is_not_supported(StreamingChatModel model) {
        Lc4jRefusals.assertRefused(() -> chat(model, Lc4jRefusals.jsonSchema()), "response_format");
    }

    @ParameterizedTest
    @MethodSource("models")
    @Override
    protected void should_fail_if_images_as_public_URLs_are_not_supported(StreamingChatModel model) {
        Lc4jRefusals.assertRefused(() -> chat(model, Lc4jRefusals.imageUrl()), "only text content parts are supported");
    }

    @ParameterizedTest
    @MethodSource("models")
    @Override
    protected void should_fail_if_images_as_base64_encoded_strings_are_not_supported(StreamingChatModel model) {
        Lc4jRefusals.assertRefused(() -> chat(model, Lc4jRefusals.imageBase64()), "only text content parts are supported");
    }
}
