package org.chatglm4j.server;

import dev.langchain4j.agent.tool.ToolSpecification;
import dev.langchain4j.data.message.ImageContent;
import dev.langchain4j.data.message.TextContent;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.request.ResponseFormat;
import dev.langchain4j.model.chat.request.ToolChoice;
import dev.langchain4j.model.chat.request.json.JsonObjectSchema;
import dev.langchain4j.model.chat.request.json.JsonSchema;
import org.assertj.core.api.ThrowableAssert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * The requests of LangChain4j's "should_fail_if_..._not_supported" tests. The suite expects the client-side
 * {@code UnsupportedFeatureException}, which only a provider-specific client that knows the model can throw; over
 * the OpenAI protocol the server refuses such a request with a 400 that says what is not supported, which
 * {@code langchain4j-open-ai} surfaces as {@link InvalidRequestException}. These are checked instead.
 */
final class Lc4jRefusals {
    private Lc4jRefusals() {
    }

    static final ToolSpecification WEATHER = ToolSpecification.builder().name("getWeather")
            .description("the weather in a city")
            .parameters(JsonObjectSchema.builder().addStringProperty("city").required("city").build()).build();

    static ChatRequest tools() {
        return ChatRequest.builder().messages(UserMessage.from("What is the weather in Munich?")).toolSpecifications(WEATHER).build();
    }

    static ChatRequest toolChoiceRequired() {
        return ChatRequest.builder().messages(UserMessage.from("What is the weather in Munich?"))
                .toolSpecifications(WEATHER).toolChoice(ToolChoice.REQUIRED).build();
    }

    static ChatRequest json() {
        return ChatRequest.builder().messages(UserMessage.from("What is the capital of Germany?"))
                .responseFormat(ResponseFormat.JSON).build();
    }

    static ChatRequest jsonSchema() {
        return ChatRequest.builder().messages(UserMessage.from("What is the capital of Germany?"))
                .responseFormat(ResponseFormat.builder().type(dev.langchain4j.model.chat.request.ResponseFormatType.JSON)
                        .jsonSchema(JsonSchema.builder().name("City").rootElement(JsonObjectSchema.builder()
                                .addStringProperty("city").build()).build()).build()).build();
    }

    static ChatRequest imageUrl() {
        return ChatRequest.builder().messages(UserMessage.from(TextContent.from("What do you see?"),
                ImageContent.from("https://example.invalid/cat.png"))).build();
    }

    static ChatRequest imageBase64() {
        return ChatRequest.builder().messages(UserMessage.from(TextContent.from("What do you see?"),
                ImageContent.from("iVBORw0KGgo=", "image/png"))).build();
    }

    /** The call fails with the server's 400 whose message contains {@code says}. */
    static void assertRefused(ThrowableAssert.ThrowingCallable call, String says) {
        Throwable t = catchThrowable(call);
        while (t != null && !(t instanceof InvalidRequestException)) t = t.getCause();
        assertThat(t).as("an InvalidRequestException (HTTP 400) in the cause chain").isNotNull();
        assertThat(t.getMessage()).contains(says);
    }
}
