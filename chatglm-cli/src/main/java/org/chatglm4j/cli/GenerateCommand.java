package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.ResponsePostprocess;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.generate.TokenListener;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.chatglm4j.tokenizer.Glm2Tokenizer;
import org.chatglm4j.tokenizer.StreamingDecoder;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code chatglm generate}: one completion of raw text or ids, like the reference's {@code model.generate}. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        header = "One raw completion of a prompt or of token ids (no chat template).",
        defaultValueProvider = OptionDefaults.Generate.class,
        description = {"One completion without the chat template, like the reference model.generate(): greedy "
                + "(do_sample=False) unless --do-sample, max_length 2048 unless --max-length/--max-new-tokens.",
                "--prompt is encoded as chat() does it (text ids + [gMASK] <sop>); --ids are used as given.",
                "Plain: the generated text is streamed to standard output. --json: {\"input_ids\": […], "
                        + "\"generated_ids\": new ids (a final <eop> included), \"text\": their decoding, "
                        + "\"response\": text as chat() post-processes it}."})
public final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model;

    @Mixin
    LoadTuning tuning;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "Text to continue.")
        String prompt;

        @Option(names = "--ids", paramLabel = "ID,ID,…", converter = TokenIds.Converter.class,
                description = "Token ids to continue, used as given (need [gMASK] or [MASK], and <sop>).")
        TokenIds ids;
    }

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--ptuning", paramLabel = "DIR", description = "A P-Tuning v2 checkpoint folder to load on top.")
    Path ptuning;

    @Option(names = "--eos-ids", paramLabel = "ID,ID,…", converter = TokenIds.Converter.class,
            description = "Ids that end generation (the reference's eos_token_id list, e.g. 2,64795,64797 for "
                    + "ChatGLM3's chat()). Default: the model's own eos.")
    TokenIds eosIds;

    @Option(names = "--json", description = "Write one JSON object instead of streaming text.")
    boolean json;

    private final CliContext ctx;

    public GenerateCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        GenerationConfig config = sampling.toConfig(false, List.of());
        if (eosIds != null) config = config.withEosTokenIds(Arrays.stream(eosIds.values()).boxed().toList());
        Path folder = model.resolve(ctx);
        try (ChatGLM glm = ChatGLM.load(folder, tuning.apply(model.loadOptions(ptuning)))) {
            if (eosIds != null) TokenIds.checkRange(eosIds.values(), glm.config().vocabSize(), "--eos-ids");
            if (glm.glm2Tokenizer() != null) return generateGlm2(glm, config);
            ChatGlmTokenizer tokenizer = glm.tokenizer();
            int[] ids = input.ids != null ? input.ids.values() : tokenizer.encodeForModel(input.prompt);
            TokenIds.checkRange(ids, glm.config().vocabSize(), input.ids != null ? "--ids" : "--prompt");
            checkRoom(ids.length, config);
            PrintStream out = ctx.out();
            TokenListener listener = TokenListener.NONE;
            StreamingDecoder decoder = json ? null : tokenizer.streamingDecoder();
            if (decoder != null) {
                listener = token -> {
                    out.print(decoder.push(token));
                    out.flush();
                    return !out.checkError();
                };
            }
            GenerationResult r = glm.generate(ids, config, listener, null);
            String text = tokenizer.decodeForChat(r.generatedIds());
            if (json) {
                ObjectNode o = Json.MAPPER.createObjectNode();
                o.set("input_ids", Json.ints(r.inputIds()));
                o.set("generated_ids", Json.ints(r.generatedIds()));
                o.put("text", text);
                o.put("response", ResponsePostprocess.apply(text));
                Json.writeLine(out, o);
            } else {
                out.println(decoder.flush());
                out.flush();
            }
            model.note(ctx, stats(r));
        }
        return 0;
    }

    /**
     * ChatGLM2/3: {@code --prompt} is encoded as {@code tokenizer([text])} ({@code [gMASK] sop} + the text's ids);
     * {@code --json} gives input_ids, generated_ids and their {@code tokenizer.decode} as text (the response
     * post-processing belongs to the chat formats).
     */
    private int generateGlm2(ChatGLM glm, GenerationConfig config) {
        Glm2Tokenizer tokenizer = glm.glm2Tokenizer();
        int[] ids = input.ids != null ? input.ids.values() : tokenizer.encodeForModel(input.prompt);
        TokenIds.checkRange(ids, glm.config().vocabSize(), input.ids != null ? "--ids" : "--prompt");
        checkRoom(ids.length, config);
        PrintStream out = ctx.out();
        TokenListener listener = TokenListener.NONE;
        StreamingDecoder decoder = json ? null : tokenizer.streamingDecoder();
        if (decoder != null) {
            listener = token -> {
                out.print(decoder.push(token));
                out.flush();
                return !out.checkError();
            };
        }
        GenerationResult r = glm.generate(ids, config, listener, null);
        if (json) {
            ObjectNode o = Json.MAPPER.createObjectNode();
            o.set("input_ids", Json.ints(r.inputIds()));
            o.set("generated_ids", Json.ints(r.generatedIds()));
            // the model has more rows than the tokenizer has ids: a random or odd model can generate one that
            // tokenizer.decode refuses (as the reference does); the ids are the answer then
            int[] gen = r.generatedIds();
            boolean decodable = Arrays.stream(gen).allMatch(id -> id < tokenizer.vocabSize());
            if (decodable || tokenizer.hasRoleTokens()) o.put("text", tokenizer.decode(gen));
            else o.putNull("text");
            Json.writeLine(out, o);
        } else {
            out.println(decoder.flush());
            out.flush();
        }
        model.note(ctx, stats(r));
        return 0;
    }

    /** The reference would still emit one token for a prompt at max_length; a CLI user wants to hear about it. */
    static void checkRoom(int promptLength, GenerationConfig config) {
        if (config.maxNewTokens() == 0 && promptLength >= config.maxLength()) {
            throw new ChatGlmException("the prompt is " + promptLength + " tokens long: with max_length "
                    + config.maxLength() + " there is no room for new tokens (raise --max-length or use "
                    + "--max-new-tokens)");
        }
    }

    static String stats(GenerationResult r) {
        return String.format(Locale.ROOT, "%d prompt tokens, %d generated (%s); prefill %.1f ms, %.2f ms/token",
                r.inputIds().length, r.generatedIds().length, r.finishReason().name().toLowerCase(Locale.ROOT),
                r.prefillNanos() / 1e6, r.decodeMillisPerToken());
    }
}
