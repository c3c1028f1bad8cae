package org.chatglm4j.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionAssistantMessageParam;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import dev.langchain4j.agent.tool.P;
import dev.langchain4j.agent.tool.Tool;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.service.AiServices;
import org.chatglm4j.chat.Message;
import org.chatglm4j.chat.PromptTokenizer;
import org.chatglm4j.chat.Glm3ChatFormat;
import org.chatglm4j.chat.Role;
import org.chatglm4j.generate.GenerationConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tool calling through the OpenAI API of a ChatGLM3 server, with the official openai-java SDK and LangChain4j's
 * AiServices with a {@code @Tool}. The model is {@link ScriptedGlm3Engine}: it writes a scripted ChatGLM3 tool call
 * ({@code get_weather\n```python\ntool_call(city_name='北京')\n```}) or text, and everything else is real (the
 * ChatGLM3 prompt built from the mapped messages, the process_response that reads the tool call). What this
 * proves: tools reach the prompt as ChatGLM3's system message, a tool call the model writes reaches the client as
 * {@code tool_calls} (streamed and not) with finish_reason tool_calls, and the client's tool result comes back as
 * an observation after the assistant's call. It does not prove a real model calls tools well.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ToolCallingTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CALL = "get_weather\n```python\ntool_call(city_name='北京')\n```";
    private final ScriptedGlm3Engine engine = new ScriptedGlm3Engine(ToolCallingTest::script);

    /**
     * The scripted model: after an observation it answers with it; otherwise it calls the first offered tool with
     * its first parameter set to 北京, written as ChatGLM3 writes a call (LangChain4j names a parameter arg0).
     */
    private static String script(List<Message> history, Message message) {
        if (message.role() == Role.OBSERVATION) return "北京：晴，" + message.content();
        if (history.isEmpty() || history.getFirst().tools() == null) return "你好";
        com.fasterxml.jackson.databind.JsonNode fn = history.getFirst().tools().get(0).path("function");
        String param = fn.path("parameters").path("properties").fieldNames().next();
        return fn.path("name").asText() + "\n```python\ntool_call(" + param + "='北京')\n```";
    }
    private ChatServer server;
    private String baseUrl;

    @BeforeAll
    void start() throws IOException {
        server = ChatServer.start(ServerOptions.defaults().withPort(0).withModelName("chatglm3-6b"), engine);
        baseUrl = server.uri() + "v1";
    }

    @AfterAll
    void stop() {
        server.close();
    }

    @BeforeEach
    void clear() {
        engine.seen.clear();
    }

    private OpenAIClient client() {
        return OpenAIOkHttpClient.builder().baseUrl(baseUrl).apiKey("none").maxRetries(0).build();
    }

    private static ChatCompletionFunctionTool weatherTool() {
        return ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder().name("get_weather")
                .description("Get the current weather for `city_name`")
                .parameters(FunctionParameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city_name", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city_name")))
                        .build())
                .build()).build();
    }

    private ChatCompletionCreateParams.Builder ask() {
        return ChatCompletionCreateParams.builder().model("chatglm3-6b")
                .addSystemMessage("You are a weather bot.")
                .addUserMessage("北京天气怎么样？")
                .addTool(weatherTool())
                .temperature(0.0);
    }

    @Test
    void aToolCallComesBackAsToolCalls() throws Exception {
        ChatCompletion c = client().chat().completions().create(ask().build());
        ChatCompletion.Choice choice = c.choices().getFirst();
        assertThat(choice.finishReason().asString()).isEqualTo("tool_calls");
        assertThat(choice.message().content()).isEmpty();
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().getFirst().asFunction();
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertThat(JSON.readTree(call.function().arguments())).isEqualTo(JSON.readTree("{\"city_name\": \"北京\"}"));
        assertThat(call.id()).startsWith("call_");

        // the prompt the model got: ChatGLM3's tool system message (the client's own system message left out,
        // as in ChatGLM3's openai_api_demo), then the user's question
        ScriptedGlm3Engine.Seen seen = engine.last();
        assertThat(seen.history()).hasSize(1);
        Message system = seen.history().getFirst();
        assertThat(system.role()).isEqualTo(Role.SYSTEM);
        assertThat(system.content()).isEqualTo(ToolCalling.TOOLS_PROMPT);
        assertThat(system.tools().get(0).path("function").path("name").asText()).isEqualTo("get_weather");
        assertThat(system.tools().get(0).path("type").asText()).isEqualTo("function");
        assertThat(seen.message()).isEqualTo(Message.user("北京天气怎么样？"));
        PromptTokenizer tok = engine.promptTokenizer();
        assertThat(seen.promptIds()).containsExactly(Glm3ChatFormat.INSTANCE.prepare(tok, List.of(system),
                Message.user("北京天气怎么样？"), GenerationConfig.greedy(8192)).ids());
    }

    @Test
    void aStreamedToolCallComesBackInOnePieceWithNoTextBeforeIt() throws Exception {
        StringBuilder text = new StringBuilder();
        List<ChatCompletionChunk.Choice.Delta.ToolCall> calls = new ArrayList<>();
        String[] finish = {null};
        try (StreamResponse<ChatCompletionChunk> stream = client().chat().completions().createStreaming(ask().build())) {
            stream.stream().forEach(chunk -> chunk.choices().forEach(ch -> {
                ch.delta().content().ifPresent(text::append);
                ch.delta().toolCalls().ifPresent(calls::addAll);
                ch.finishReason().ifPresent(f -> finish[0] = f.asString());
            }));
        }
        assertThat(text.toString()).isEmpty();
        assertThat(finish[0]).isEqualTo("tool_calls");
        assertThat(calls).hasSize(1);
        assertThat(calls.getFirst().function().orElseThrow().name()).contains("get_weather");
        assertThat(JSON.readTree(calls.getFirst().function().orElseThrow().arguments().orElseThrow()))
                .isEqualTo(JSON.readTree("{\"city_name\": \"北京\"}"));
    }

    @Test
    void theToolResultGoesInAsAnObservationAfterTheCall() {
        ChatCompletionMessageToolCall call = ChatCompletionMessageToolCall.ofFunction(
                ChatCompletionMessageFunctionToolCall.builder().id("call_1")
                        .function(ChatCompletionMessageFunctionToolCall.Function.builder().name("get_weather")
                                .arguments("{\"city_name\": \"北京\"}").build()).build());
        ChatCompletion c = client().chat().completions().create(ask()
                .addMessage(ChatCompletionAssistantMessageParam.builder().toolCalls(List.of(call)).build())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId("call_1").content("{\"temperature\": 21}").build())
                .build());
        assertThat(c.choices().getFirst().finishReason().asString()).isEqualTo("stop");
        assertThat(c.choices().getFirst().message().content()).contains("北京：晴，{\"temperature\": 21}");
        ScriptedGlm3Engine.Seen seen = engine.last();
        assertThat(seen.message()).isEqualTo(Message.observation("{\"temperature\": 21}"));
        assertThat(seen.history()).hasSize(3);
        // the call as ChatGLM3 writes it, so the prompt reads like the model's own earlier turn
        assertThat(seen.history().get(2)).isEqualTo(Message.assistant("get_weather", CALL.substring(CALL.indexOf('\n') + 1)));
    }

    @Test
    void toolChoiceNoneOffersNoTools() {
        client().chat().completions().create(ask().toolChoice(com.openai.models.chat.completions.ChatCompletionToolChoiceOption
                .ofAuto(com.openai.models.chat.completions.ChatCompletionToolChoiceOption.Auto.NONE)).build());
        ScriptedGlm3Engine.Seen seen = engine.last();
        assertThat(seen.history()).containsExactly(Message.system("You are a weather bot."));
    }

    interface Assistant {
        String chat(String message);
    }

    static final class Weather {
        final List<String> asked = new ArrayList<>();

        @Tool("Get the current weather for a city")
        String get_weather(@P("the city") String city_name) {
            asked.add(city_name);
            return "{\"temperature\": 21}";
        }
    }

    @Test
    void langChain4jAiServicesRunTheToolAndAnswerWithItsResult() {
        OpenAiChatModel model = OpenAiChatModel.builder().baseUrl(baseUrl).apiKey("none").modelName("chatglm3-6b")
                .temperature(0.0).timeout(Duration.ofSeconds(60)).maxRetries(0).build();
        Weather weather = new Weather();
        Assistant assistant = AiServices.builder(Assistant.class).chatModel(model).tools(weather).build();
        String answer = assistant.chat("北京天气怎么样？");
        assertThat(weather.asked).containsExactly("北京");
        assertThat(answer).isEqualTo("北京：晴，{\"temperature\": 21}");
        ScriptedGlm3Engine.Seen seen = engine.last();
        assertThat(seen.message().role()).isEqualTo(Role.OBSERVATION);
        assertThat(seen.history().getFirst().tools()).isNotNull();
    }
}
