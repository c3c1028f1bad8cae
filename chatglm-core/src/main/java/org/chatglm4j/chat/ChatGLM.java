package org.chatglm4j.chat;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.cglm.CglmFormat;
import org.chatglm4j.cglm.CglmModel;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.GenerationResult;
import org.chatglm4j.generate.Generator;
import org.chatglm4j.generate.TokenListener;
import org.chatglm4j.io.Checkpoint;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.ChatGlmWeights;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.model.PrefixEncoder;
import org.chatglm4j.tensor.Parallel;
import org.chatglm4j.model.Architecture;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.chatglm4j.tokenizer.Glm2Tokenizer;

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
    private final ChatGlmTokenizer tokenizer;         // ChatGLM-6B; null for ChatGLM2/3
    private final Glm2Tokenizer glm2Tokenizer;        // ChatGLM2/3; null for ChatGLM-6B
    private final ChatFormatKind.Decision chatFormat;
    private final ChatGlmModel model;
    private final Generator generator;
    private final List<AutoCloseable> resources;
    private final ChatFormat format;
    private final PromptTokenizer prompts;

    /** A chat front end over a model already built; {@code resources} are closed with it (mappings, pools). */
    public ChatGLM(ChatGlmTokenizer tokenizer, ChatGlmModel model, List<AutoCloseable> resources) {
        this(tokenizer, null, new ChatFormatKind.Decision(ChatFormatKind.CHATGLM, "ChatGLM-6B", false), model,
                resources);
    }

    /** A ChatGLM2/3 model with its tokenizer and chat format. */
    public ChatGLM(Glm2Tokenizer tokenizer, ChatFormatKind.Decision chatFormat, ChatGlmModel model,
                   List<AutoCloseable> resources) {
        this(null, tokenizer, chatFormat, model, resources);
    }

    private ChatGLM(ChatGlmTokenizer tokenizer, Glm2Tokenizer glm2Tokenizer, ChatFormatKind.Decision chatFormat,
                    ChatGlmModel model, List<AutoCloseable> resources) {
        this.tokenizer = tokenizer;
        this.glm2Tokenizer = glm2Tokenizer;
        this.chatFormat = chatFormat;
        this.model = model;
        this.generator = new Generator(model);
        this.resources = List.copyOf(resources);
        this.format = ChatFormat.of(chatFormat.kind());
        this.prompts = tokenizer != null ? PromptTokenizer.of(tokenizer) : PromptTokenizer.of(glm2Tokenizer);
    }

    /** Loads a Hugging Face model folder (config.json, tokenizer files, weights in any supported format). */
    public static ChatGLM load(Path folder) {
        return load(folder, LoadOptions.defaults());
    }

    /** Loads a model folder or a {@code .cglm} file as {@code options} say (threads, P-Tuning, quantization). */
    public static ChatGLM load(Path folder, LoadOptions options) {
        if (Files.isRegularFile(folder) && folder.getFileName().toString().endsWith(CglmFormat.EXTENSION)) {
            return loadCglm(folder, options);
        }
        if (!Files.isDirectory(folder)) throw new ChatGlmException(folder + ": not a model folder");
        ChatGlmConfig cfg = ChatGlmConfig.load(folder.resolve("config.json"));
        if (cfg.isGlm2()) return loadGlm2(folder, cfg, options);
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

    /**
     * ChatGLM2-6B / ChatGLM3-6B / CodeGeeX2-6B: {@code tokenizer.model} with the specials of the decided chat format
     * (v3 adds the role tokens), weights with the v2 names, the KV cache sized by groups.
     */
    private static ChatGLM loadGlm2(Path folder, ChatGlmConfig cfg, LoadOptions options) {
        ChatFormatKind.Decision format = options.chatFormatFor(folder);
        Glm2Tokenizer tokenizer = Glm2Tokenizer.load(folder, format.kind() == ChatFormatKind.GLM3);
        if (tokenizer.vocabSize() > cfg.vocabSize()) {
            throw new ChatGlmException(folder + ": the tokenizer has " + tokenizer.vocabSize()
                    + " tokens but config.json says padded_vocab_size " + cfg.vocabSize());
        }
        List<AutoCloseable> resources = new ArrayList<>();
        try {
            Checkpoint checkpoint = Checkpoint.open(folder);
            resources.add(checkpoint);
            Arena arena = Arena.ofShared();
            resources.add(arena);
            Parallel pool = new Parallel(options.threads());
            resources.add(pool);
            ChatGlmWeights weights = ChatGlmWeights.load(cfg, checkpoint.tensors(), folder.toString(),
                    options.quantize(), options.embeddings(), arena, pool);
            PrefixEncoder prefix = options.ptuning() == null ? null : loadPrefix(cfg, options.ptuning());
            return new ChatGLM(tokenizer, format, new ChatGlmModel(weights, prefix, pool, options.kvCache()),
                    resources);
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
            ChatGlmModel model = new ChatGlmModel(m.weights(), prefix, pool, options.kvCache());
            if (m.config().isGlm2()) {
                ChatFormatKind.Decision format = ChatFormatKind.decideFromName(options.chatFormat(), m.chatFormat(),
                        "the .cglm file's chat format");
                return new ChatGLM(m.glm2Tokenizer(format.kind() == ChatFormatKind.GLM3), format, model, resources);
            }
            return new ChatGLM(m.tokenizer(), model, resources);
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

    /** ChatGLM-6B's tokenizer; a ChatGLM2/3 model has a {@link #glm2Tokenizer()} instead (a clear error here). */
    @Override
    public ChatGlmTokenizer tokenizer() {
        if (tokenizer == null) {
            throw new ChatGlmException("a ChatGLM2/3 model has no ChatGLM-6B tokenizer: use glm2Tokenizer()");
        }
        return tokenizer;
    }

    /** The tokenizer as the chat format uses it. */
    @Override
    public PromptTokenizer promptTokenizer() {
        return prompts;
    }

    /** The tokenizer of a ChatGLM2/3 model, or null for ChatGLM-6B. */
    public Glm2Tokenizer glm2Tokenizer() {
        return glm2Tokenizer;
    }

    /** The model's chat format and what decided it ({@link ChatFormatKind#CHATGLM} for ChatGLM-6B). */
    public ChatFormatKind.Decision chatFormat() {
        return chatFormat;
    }

    /** The architecture the model was loaded as. */
    public Architecture architecture() {
        return model.config().architecture();
    }

    /** The forward pass, for callers that drive generation themselves (e.g. a {@link BatchingEngine}). */
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

    /** chat() with the given generation settings. */
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
        return ChatTurns.viaMessages(this, query, history, config, listener, cancellation);
    }

    /** ChatGLM3's {@code chat(tokenizer, query, history, role)} with greedy or sampled decoding as configured. */
    public ConversationResponse chat(List<Message> history, Message message, GenerationConfig config) {
        return streamChat(history, message, config, null, null);
    }

    /**
     * A reply to a conversation of messages; the listener sees the text that stream_chat yields (nothing while a
     * tool call is being written). Oldest messages that do not fit are left out of the prompt, a leading system
     * message never.
     */
    @Override
    public ConversationResponse streamChat(List<Message> history, Message message, GenerationConfig config,
                                           ChatListener listener, Cancellation cancellation) {
        List<Message> past = history == null ? List.of() : List.copyOf(history);
        List<Message> seen = ChatTurns.withTurn(past, message);
        // the prompt is built outside the lock: a long history never holds up other callers' generations
        PreparedPrompt prompt = format.prepare(prompts, past, message, config);
        ReplyAssembler reply = new ReplyAssembler(format, prompts, seen, listener, config.stop());
        // beam search knows its reply only at the end: the listener gets it in one piece from finish()
        TokenListener tokens = config.beamSearch() ? TokenListener.NONE : reply::onToken;
        GenerationResult result;
        synchronized (this) {
            result = generator.generate(prompt.ids(), format.forChat(config, prompts), tokens, cancellation);
        }
        ChatFormat.Reply r = reply.finish(result);
        seen.addAll(r.added());
        return new ConversationResponse(r.reply(), List.copyOf(seen), result.finishReason(), prompt.ids().length,
                result.generatedIds().length, prompt.dropped(), result);
    }

    /**
     * A conversation that keeps its KV cache between rounds (ChatGLM2/3; see {@link CachedConversation}).
     *
     * @param history the conversation so far, encoded with the first round's prompt
     */
    public CachedConversation openConversation(List<Message> history) {
        if (!model.config().isGlm2()) {
            throw new ChatGlmException("only ChatGLM2/3 models keep a conversation's cache between rounds");
        }
        return new CachedConversation(this, model.newCache(), history == null ? List.of() : history);
    }

    /** One round of a {@link CachedConversation}. */
    synchronized ConversationResponse continueOn(CachedConversation conv, Message message, GenerationConfig config,
                                                 ChatListener listener, Cancellation cancellation) {
        if (config.beamSearch()) {
            throw new ChatGlmException("beam search is not supported in a conversation that keeps its cache");
        }
        List<Message> past = conv.history();
        List<Message> seen = ChatTurns.withTurn(past, message);
        KvCache cache = conv.cache();
        int before = cache.length();
        int[] ids;
        int dropped = 0;
        if (cache.tokens() == 0) {
            PreparedPrompt p = format.prepare(prompts, past, message, config);
            ids = p.ids();
            dropped = p.dropped();
        } else {
            ids = format.continuation(prompts, past, message);
            if (!PreparedPrompt.fits(ids.length, config)) {
                throw new ChatGlmException("the query is " + ids.length + " tokens long: with max_length "
                        + config.maxLength() + " there is no room for a reply");
            }
        }
        if ((long) cache.tokens() + ids.length + PreparedPrompt.room(config) > model.config().maxSequenceLength()) {
            throw new ChatGlmException("the conversation holds " + cache.tokens() + " tokens: with " + ids.length
                    + " more and room for the reply it would pass the model's " + model.config().maxSequenceLength()
                    + "; start a new conversation");
        }
        ReplyAssembler reply = new ReplyAssembler(format, prompts, seen, listener, config.stop());
        GenerationResult result;
        try {
            result = generator.generateOn(cache, ids, format.forChat(config, prompts), reply::onToken, cancellation);
        } catch (RuntimeException e) {
            cache.truncate(before);   // the conversation stays as it was before this round
            throw e;
        }
        ChatFormat.Reply r = reply.finish(result);
        seen.addAll(r.added());
        return new ConversationResponse(r.reply(), List.copyOf(seen), result.finishReason(), ids.length,
                result.generatedIds().length, dropped, result);
    }

    @Override
    public ChatFormat chatTemplate() {
        return format;
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
