package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.cglm.CglmModel;
import org.chatglm4j.chat.ChatFormatKind;
import org.chatglm4j.model.Architecture;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.chatglm4j.tokenizer.Glm2Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code chatglm tokenize}: the tokenizer alone (never the weights), line by line from stdin. */
@Command(name = "tokenize", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Tokenize lines of text, or decode ids (tokenizer files only).",
        description = {"Tokenizes each line of standard input (only the tokenizer files are loaded: --model may be a "
                + "folder holding just ice_text.model and tokenizer_config.json, or a .cglm file).",
                "Plain: each line gives 'ids=[…] pieces=[…]'.",
                "--json: each line is {\"text\": …} → {\"ids\": encode(text), \"input_ids\": ids + [gMASK, <sop>], "
                        + "\"pieces\": […], \"hf_input_ids\": what chat() feeds the model}, or {\"ids\": […]} → "
                        + "{\"text\": the text chat() would decode}; exactly one output line per input line."})
public final class TokenizeCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Option(names = "--json", description = "Read and write JSON lines.")
    boolean json;

    private final CliContext ctx;

    public TokenizeCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        Path path = model.resolve(ctx);
        if (SingleFile.is(path)) {
            try (CglmModel m = CglmModel.open(path)) {   // mapped, not read: the tokenizer is in its header
                if (m.config().isGlm2()) {
                    ChatFormatKind.Decision d = ChatFormatKind.decideFromName(model.chatFormat, m.chatFormat(),
                            "the .cglm file's chat format");
                    Glm2Tokenizer tokenizer = m.glm2Tokenizer(d.kind() == ChatFormatKind.GLM3);
                    return run(text -> plain(tokenizer, text), request -> handle(tokenizer, request));
                }
                return run(m.tokenizer());
            }
        }
        if (Architecture.ofFolder(path) == Architecture.GLM2) {
            Glm2Tokenizer tokenizer = Glm2Tokenizer.load(path, model.chatFormat(path).kind() == ChatFormatKind.GLM3);
            return run(text -> plain(tokenizer, text), request -> handle(tokenizer, request));
        }
        ChatGlmTokenizer tokenizer = ChatGlmTokenizer.load(path);
        return run(tokenizer);
    }

    private int run(ChatGlmTokenizer tokenizer) {
        return run(text -> plain(tokenizer, text), request -> handle(tokenizer, request));
    }

    private int run(java.util.function.Function<String, String> plain, JsonLineLoop.Handler handler) {
        if (json) return JsonLineLoop.run(ctx, handler) > 0 ? 1 : 0;
        InputLines lines = new InputLines(ctx.in());
        for (InputLines.Line line; (line = lines.next()) != null; ) {
            if (line.tooLong()) {
                throw new ChatGlmException("line " + line.number() + " is longer than " + InputLines.DEFAULT_MAX_CHARS
                        + " characters");
            }
            ctx.out().println(plain.apply(line.text()));
            ctx.out().flush();
        }
        return 0;
    }

    static String plain(ChatGlmTokenizer tokenizer, String text) {
        return "ids=" + Json.ints(tokenizer.encode(text)) + " pieces=" + Json.strings(tokenizer.tokenize(text));
    }

    static String plain(Glm2Tokenizer tokenizer, String text) {
        return "ids=" + Json.ints(tokenizer.encode(text)) + " pieces=" + Json.strings(tokenizer.tokenize(text));
    }

    /**
     * ChatGLM2/3: {@code {"text"}} → {@code ids} = {@code tokenizer.encode(text, add_special_tokens=False)},
     * {@code input_ids} = {@code [gMASK, sop] + ids}, {@code pieces}; {@code {"ids"}} → {@code tokenizer.decode(ids)}
     * (which, as the reference, maps negative ids to nothing, and past-the-vocabulary ids to an error in v2 and to
     * nothing in v3).
     */
    static JsonNode handle(Glm2Tokenizer tokenizer, ObjectNode request) {
        JsonNode text = request.get("text");
        JsonNode ids = request.get("ids");
        if ((text == null) == (ids == null)) {
            throw new Json.LineException("expected {\"text\": …} or {\"ids\": […]}");
        }
        ObjectNode out = Json.MAPPER.createObjectNode();
        if (text != null) {
            if (!text.isTextual()) throw new Json.LineException("text must be a string, got " + Json.kind(text));
            String s = text.textValue();
            int[] encoded = tokenizer.encode(s);
            out.set("ids", Json.ints(encoded));
            out.set("input_ids", Json.ints(tokenizer.buildInputs(encoded)));
            out.set("pieces", Json.strings(tokenizer.tokenize(s)));
        } else {
            out.put("text", tokenizer.decode(Json.idArray(ids, "ids")));
        }
        return out;
    }

    static JsonNode handle(ChatGlmTokenizer tokenizer, ObjectNode request) {
        JsonNode text = request.get("text");
        JsonNode ids = request.get("ids");
        if ((text == null) == (ids == null)) {
            throw new Json.LineException("expected {\"text\": …} or {\"ids\": […]}");
        }
        ObjectNode out = Json.MAPPER.createObjectNode();
        if (text != null) {
            if (!text.isTextual()) throw new Json.LineException("text must be a string, got " + Json.kind(text));
            String s = text.textValue();
            int[] encoded = tokenizer.encode(s);
            out.set("ids", Json.ints(encoded));
            out.set("input_ids", Json.ints(tokenizer.buildInputs(encoded)));
            out.set("pieces", Json.strings(tokenizer.tokenize(s)));
            out.set("hf_input_ids", Json.ints(tokenizer.encodeForModel(s)));
        } else {
            int[] decoded = Json.idArray(ids, "ids");
            TokenIds.checkRange(decoded, tokenizer.vocabSize(), "ids");
            out.put("text", tokenizer.decodeForChat(decoded));
        }
        return out;
    }
}
