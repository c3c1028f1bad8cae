package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.GenerationConfig;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Input lines, --ids lists and chat request lines. */
class InputParsingTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static List<InputLines.Line> lines(String text, int max) {
        InputLines in = new InputLines(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), max);
        List<InputLines.Line> out = new ArrayList<>();
        for (InputLines.Line l; (l = in.next()) != null; ) out.add(l);
        return out;
    }

    @Test
    void linesDropTheirEndingsAByteOrderMarkAndKeepEmptyLines() {
        assertThat(lines("\uFEFFa\r\n\nb", 100)).extracting(InputLines.Line::text).containsExactly("a", "", "b");
        assertThat(lines("a\n", 100)).extracting(InputLines.Line::number).containsExactly(1);
        assertThat(lines("", 100)).isEmpty();
    }

    @Test
    void overlongLinesAreSkippedNotBuffered() {
        List<InputLines.Line> l = lines("short\n" + "x".repeat(50) + "\nnext\n", 10);
        assertThat(l).hasSize(3);
        assertThat(l.get(1).tooLong()).isTrue();
        assertThat(l.get(2).text()).isEqualTo("next");
        assertThat(l.get(2).number()).isEqualTo(3);
    }

    @Test
    void tokenIdLists() {
        TokenIds.Converter c = new TokenIds.Converter();
        assertThat(c.convert("1,2,3").values()).containsExactly(1, 2, 3);
        assertThat(c.convert("[1, 2, 3]").values()).containsExactly(1, 2, 3);
        assertThat(c.convert(" 7 ").values()).containsExactly(7);
        assertThatThrownBy(() -> c.convert("1,,2")).isInstanceOf(CommandLine.TypeConversionException.class);
        assertThatThrownBy(() -> c.convert("")).isInstanceOf(CommandLine.TypeConversionException.class);
        assertThatThrownBy(() -> c.convert("1,99999999999")).isInstanceOf(CommandLine.TypeConversionException.class);
        assertThatThrownBy(() -> TokenIds.checkRange(new int[]{0, -1}, 10, "--ids"))
                .isInstanceOf(ChatGlmException.class).hasMessage("--ids: id -1 (at index 1) is outside the vocabulary "
                        + "of 10 tokens (0..9)");
    }

    static ChatRequest request(String json) throws Exception {
        return ChatRequest.parse((ObjectNode) JSON.readTree(json), GenerationConfig.chatDefaults(), k -> {
            throw new AssertionError("unknown key " + k);
        });
    }

    @Test
    void chatRequestOverridesOnlyWhatItGives() throws Exception {
        ChatRequest r = request("{\"query\":\"q\"}");
        assertThat(r.config()).isEqualTo(GenerationConfig.chatDefaults());
        assertThat(r.history()).isNull();
        r = request("{\"query\":\"q\",\"max_length\":64,\"max_new_tokens\":8,\"top_p\":0.5,\"temperature\":1.5,"
                + "\"top_k\":5.0,\"do_sample\":false,\"seed\":7,\"repetition_penalty\":1.2,\"stop\":[\"x\"],"
                + "\"history\":[[\"a\",\"b\"]]}");
        GenerationConfig c = r.config();
        assertThat(c.maxLength()).isEqualTo(64);
        assertThat(c.maxNewTokens()).isEqualTo(8);
        assertThat(c.sampling().doSample()).isFalse();
        assertThat(c.sampling().topP()).isEqualTo(0.5);
        assertThat(c.sampling().temperature()).isEqualTo(1.5);
        assertThat(c.sampling().topK()).isEqualTo(5);
        assertThat(c.sampling().repetitionPenalty()).isEqualTo(1.2);
        assertThat(c.seed()).isEqualTo(7L);
        assertThat(c.stop()).containsExactly("x");
        assertThat(r.history()).containsExactly(new Round("a", "b"));
        assertThat(request("{\"query\":\"q\",\"seed\":null,\"history\":null}").history()).isNull();
        assertThat(request("{\"query\":\"q\",\"history\":[]}").history()).isEmpty();
    }

    @Test
    void chatRequestTypeErrors() {
        String[][] cases = {
                {"{\"query\":1}", "query must be a string"},
                {"{\"query\":\"q\",\"max_length\":1.5}", "max_length must be an integer"},
                {"{\"query\":\"q\",\"top_k\":\"5\"}", "top_k must be an integer"},
                {"{\"query\":\"q\",\"temperature\":\"hot\"}", "temperature must be a number"},
                {"{\"query\":\"q\",\"seed\":1.5}", "seed must be an integer"},
                {"{\"query\":\"q\",\"history\":{\"a\":\"b\"}}", "history must be a list"},
                {"{\"query\":\"q\",\"history\":[[\"a\",1]]}", "history[0] must be a [query, response] pair"},
                {"{\"query\":\"q\",\"stop\":[1]}", "stop must hold strings only"},
                {"{\"query\":\"q\",\"max_new_tokens\":-1}", "max_new_tokens must not be negative"},
                {"{\"query\":\"q\",\"repetition_penalty\":0}", "repetition_penalty must be"},
        };
        for (String[] c : cases) {
            assertThatThrownBy(() -> request(c[0])).as(c[0]).isInstanceOf(Json.LineException.class)
                    .hasMessageContaining(c[1]);
        }
        List<String> unknown = new ArrayList<>();
        ChatRequest.parse(JSON.createObjectNode().put("query", "q").put("prompt", "p"), GenerationConfig.chatDefaults(),
                unknown::add);
        assertThat(unknown).containsExactly("prompt");
    }

    @Test
    void jsonLineParsing() {
        assertThatThrownBy(() -> Json.parseObject("{\"a\":1} {\"b\":2}")).hasMessageStartingWith("invalid JSON");
        assertThatThrownBy(() -> Json.parseObject("{\"a\":1,\"a\":2}")).hasMessageContaining("Duplicate field");
        assertThatThrownBy(() -> Json.parseObject("[1]")).hasMessage("expected a JSON object, got an array");
        assertThatThrownBy(() -> Json.parseObject("  ")).hasMessage("empty line, expected a JSON object");
        assertThatThrownBy(() -> Json.parseObject("[".repeat(1000))).hasMessageStartingWith("invalid JSON");
    }
}
