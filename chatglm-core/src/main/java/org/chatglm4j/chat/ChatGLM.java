package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.cglm.CglmFormat;
import org.chatglm4j.cglm.CglmModel;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.FinishReason;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.generate.Generator;
import org.chatglm4j.generate.TokenListener;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.PrefixEncoder;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * ChatGLM-6B for Java programs: what {@code model.chat(tokenizer, "你好", history=[])} is in Python.
 *
 * <pre>{@code
 * try (ChatGLM glm = ChatGLM.load(Path.of("chatglm-6b"))) {
 *     ChatResponse r = glm.chat("你好", List.of());
 *     System.out.println(r.response());
 *     r = glm.chat("晚上睡不着应该怎么办", r.history());
 * }
 * }</pre>
 *
 * One generation runs at a time (calls from several threads wait their turn); weights are memory-mapped.
 */
public final class ChatGLM implements ChatEngine, AutoCloseable {
    private final ChatGlmTokenizer tokenizer;
    private final ChatGlmModel model;
    private final Generator generator;
    private final List<AutoCloseable> resources;

    public ChatGLM(ChatGlmTokenizer tokenizer, ChatGlmModel model, List<AutoCloseable> resources) {
        this.tokenizer = tokenizer;
        this.model = model;
        this.generator = new Generator(model);
        this.resources = List.copyOf(resources);
    }

    /** Loads a Hugging Face model folder (config.json, tokenizer files, weights in any supported format). */
    public static ChatGLM load(Path folder) {
        return load(folder, LoadOptions.defaults());
    }

    public static ChatGLM load(Path folder, LoadOptions options) {
        if (Files.isRegularFile(folder) && folder.getFileName().toString().endsWith(CglmFormat.EXTENSION)) {
            return loadCglm(folder, options);
        }
        if (!Files.isDirectory(folder)) throw new ChatGlmException(folder + ": not a model folder");
        ChatGlmConfig cfg = ChatGlmConfig.load(folder.resolve("config.json"));
        ChatGlmTokenizer tokenizer = ChatGlmTokenizer.load(folder);
        if (tokenizer.vocabSize() > cfg.vocabSize()) {
            throw new ChatGlmException(folder + ": the tokenizer has " + tokenizer.vocabSize()
                    + " tokens but config.json says vocab_size " + cfg.vocabSize());
        }
        List<AutoCloseable> resources = new ArrayList<>();
        try {
            Checkpoint checkpoint = Checkpoint.open(folder);
            resources.add(checkpoint);
            Arena arena = Arena.ofShared();       // quantized or repacked weights live here, off the heap
            resources.add(arena);
            Parallel pool = new Parallel(options.threads());
            resources.add(pool);
            ChatGlmWeights weights = ChatGlmWeights.load(cfg, checkpoint.tensors(), folder.toString(),
                    options.quantize(), options.embeddings(), arena, pool);
            PrefixEncoder prefix = options.ptuning() == null ? null : loadPrefix(cfg, options.ptuning());
            return new ChatGLM(tokenizer, new ChatGlmModel(weights, prefix, pool, options.kvCache()), resources);
        } catch (RuntimeException e) {
            closeAll(resources);
            throw e;
        }
    }

    /** A chatglm4j single-file model: mapped, nothing converted (its quantization was chosen by convert). */
    private static ChatGLM loadCglm(Path file, LoadOptions options) {
        if (options.quantize() != QuantFormat.NONE || options.embeddings() != QuantFormat.NONE) {
            throw new ChatGlmException(file + ": a .cglm model keeps the quantization it was converted with;"
                    + " convert again to change it");
        }
        List<AutoCloseable> resources = new ArrayList<>();
        try {
            CglmModel m = CglmModel.open(file);
            resources.add(m);
            PrefixEncoder prefix = options.ptuning() == null ? null : loadPrefix(m.config(), options.ptuning());
            Parallel pool = new Parallel(options.threads());
            resources.add(pool);
            return new ChatGLM(m.tokenizer(), new ChatGlmModel(m.weights(), prefix, pool, options.kvCache()), resources);
        } catch (RuntimeException e) {
            closeAll(resources);
            throw e;
        }
    }

    private static PrefixEncoder loadPrefix(ChatGlmConfig cfg, Path p) {
        ChatGlmConfig pcfg = ChatGlmConfig.load(p.resolve("config.json"));
        try (Checkpoint pck = Checkpoint.open(p)) {
            return PrefixEncoder.load(cfg.withPrefix(pcfg.preSeqLen(), pcfg.prefixProjection()), pck.tensors(), p.toString());
        }
    }

    @Override
    public ChatGlmTokenizer tokenizer() {
        return tokenizer;
    }

    public ChatGlmModel model() {
        return model;
    }

    @Override
    public ChatGlmConfig config() {
        return model.config();
    }

    /** chat() with the reference's defaults: sampling, temperature 0.95, top_p 0.7, top_k 50, max_length 2048. */
    public ChatResponse chat(String query, List<Round> history) {
        return chat(query, history, GenerationConfig.chatDefaults());
    }

    public ChatResponse chat(String query, List<Round> history, GenerationConfig config) {
        return streamChat(query, history, config, null, null);
    }

    /**
     * Chats with a streaming listener; returns the same reply {@link #chat} would. Oldest history rounds that do
     * not fit in {@code max_length} are left out of the prompt (see {@link ChatResponse#droppedRounds()}).
     */
    @Override
    public ChatResponse streamChat(String query, List<Round> history, GenerationConfig config,
                                   ChatListener listener, Cancellation cancellation) {
        List<Round> past = history == null ? List.of() : List.copyOf(history);
        // the prompt is built outside the lock: a long history never holds up other callers' generations
        PreparedPrompt prompt = PreparedPrompt.of(tokenizer, query, past, config);
        ReplyAssembler reply = new ReplyAssembler(tokenizer, listener, config.stop());
        GenerationResult result;
        synchronized (this) {
            result = generator.generate(prompt.ids(), config, reply::onToken, cancellation);
        }
        String response = reply.finish(result);
        int[] ids = prompt.ids();
        int dropped = prompt.dropped();
        List<Round> newHistory = new ArrayList<>(past);
        newHistory.add(new Round(query, response));
        return new ChatResponse(response, List.copyOf(newHistory), result.finishReason(), ids.length,
                result.generatedIds().length, dropped, result);
    }

    /** The reference's {@code model.generate(input_ids)}: no chat template, ids used as given. */
    public synchronized GenerationResult generate(int[] inputIds, GenerationConfig config, TokenListener listener,
                                                  Cancellation cancellation) {
        return generator.generate(inputIds, config, listener == null ? TokenListener.NONE : listener, cancellation);
    }

    @Override
    public void close() {
        closeAll(resources);
    }

    private static void closeAll(List<AutoCloseable> list) {
        for (AutoCloseable c : list.reversed()) {
            try {
                c.close();
            } catch (Exception ignored) {
                // closing a mapping or a pool does not fail in ways the caller could act on
            }
        }
    }
}
