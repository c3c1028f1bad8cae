package org.chatglm4j.langchain4j;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.BatchingEngine;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.ChatListener;
import org.chatglm4j.chat.ChatResponse;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.chat.Round;
import org.chatglm4j.generate.Cancellation;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.hub.DownloadListener;
import org.chatglm4j.hub.HubOptions;
import org.chatglm4j.hub.ModelLocator;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;

import java.nio.file.Path;
import java.util.List;

/**
 * One loaded ChatGLM model that any number of {@link ChatGlmChatModel}s and {@link ChatGlmStreamingChatModel}s
 * share. All chats go through a {@link BatchingEngine}: callers that chat at the same time are decoded together in
 * one forward pass per token (each weight read serves all of them), up to {@code maxConcurrentChats}; more wait in
 * a queue of {@code maxQueuedChats}, beyond which a chat fails at once with
 * {@link org.chatglm4j.chat.EngineBusyException}. Thread-safe.
 *
 * <pre>{@code
 * try (ChatGlmRuntime glm = ChatGlmRuntime.builder().modelPath(Path.of("chatglm-6b")).quantization(QuantFormat.Q4).build()) {
 *     ChatModel a = ChatGlmChatModel.builder().runtime(glm).temperature(0.0).build();
 *     StreamingChatModel b = ChatGlmStreamingChatModel.builder().runtime(glm).build();
 * }
 * }</pre>
 */
public final class ChatGlmRuntime implements AutoCloseable {
    private final ChatGLM glm;
    private final BatchingEngine engine;
    private final String modelName;

    private ChatGlmRuntime(ChatGLM glm, int maxConcurrentChats, int maxQueuedChats, String modelName) {
        this.glm = glm;
        this.engine = new BatchingEngine(glm, maxConcurrentChats, maxQueuedChats);
        this.modelName = modelName;
    }

    /** How to find and load the model. */
    public static Builder builder() {
        return new Builder();
    }

    /** The name reported as {@code modelName} in responses: the hub id, or the model folder's name. */
    public String modelName() {
        return modelName;
    }

    /** The model's tokenizer (thread-safe). */
    public ChatGlmTokenizer tokenizer() {
        return glm.tokenizer();
    }

    /** Prompt plus reply tokens the model was trained for ({@code max_sequence_length}). */
    public int contextLength() {
        return glm.config().maxSequenceLength();
    }

    /** The underlying batching engine (queue depth, running chats). */
    public BatchingEngine engine() {
        return engine;
    }

    ChatResponse chat(String query, List<Round> history, GenerationConfig config, ChatListener listener,
                      Cancellation cancellation) {
        return engine.streamChat(query, history, config, listener, cancellation);
    }

    /** Stops the engine (chats in flight fail) and unmaps the weights. */
    @Override
    public void close() {
        try {
            engine.close();
        } finally {
            glm.close();
        }
    }

    /** Builds a {@link ChatGlmRuntime}; either {@link #modelPath} or {@link #modelId} is required. */
    public static final class Builder {
        private Path modelPath;
        private String modelId;
        private String revision = ModelLocator.DEFAULT_REVISION;
        private HubOptions hubOptions;
        private DownloadListener downloadListener = DownloadListener.NONE;
        private QuantFormat quantization = QuantFormat.NONE;
        private int threads = Runtime.getRuntime().availableProcessors();
        private Path ptuningCheckpoint;
        private KvCache.Precision kvCache = KvCache.Precision.F32;
        private int maxConcurrentChats = 8;
        private int maxQueuedChats = 64;
        private String modelName;

        private Builder() {
        }

        /** A local model folder (Hugging Face layout) or a {@code .cglm} file. */
        public Builder modelPath(Path path) {
            this.modelPath = path;
            return this;
        }

        /** A Hugging Face repo id such as {@code THUDM/chatglm-6b}, found in (or downloaded to) the HF cache. */
        public Builder modelId(String id) {
            this.modelId = id;
            return this;
        }

        /** Branch, tag or commit of {@link #modelId} (default {@code main}). */
        public Builder revision(String revision) {
            this.revision = revision;
            return this;
        }

        /** Hub endpoint, cache, token, offline mode (default: from the environment, as the CLI). */
        public Builder hubOptions(HubOptions options) {
            this.hubOptions = options;
            return this;
        }

        /** Progress of a download from the hub (default: silent). */
        public Builder downloadListener(DownloadListener listener) {
            this.downloadListener = listener == null ? DownloadListener.NONE : listener;
            return this;
        }

        /** Quantize the linear layers while loading ({@code INT8}, {@code INT4}, {@code Q8}, {@code Q4}; default as stored). */
        public Builder quantization(QuantFormat format) {
            this.quantization = format == null ? QuantFormat.NONE : format;
            return this;
        }

        /** Compute threads (default: available processors). */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** A P-Tuning v2 checkpoint folder to load on top of the model. */
        public Builder ptuningCheckpoint(Path folder) {
            this.ptuningCheckpoint = folder;
            return this;
        }

        /** Precision of the attention caches (default F32, exact; F16 halves their memory). */
        public Builder kvCache(KvCache.Precision precision) {
            this.kvCache = precision == null ? KvCache.Precision.F32 : precision;
            return this;
        }

        /** Chats decoded together at most (default 8). */
        public Builder maxConcurrentChats(int n) {
            this.maxConcurrentChats = n;
            return this;
        }

        /** Chats that may wait for a slot (default 64); beyond, a chat fails at once. */
        public Builder maxQueuedChats(int n) {
            this.maxQueuedChats = n;
            return this;
        }

        /** The name reported in responses (default: the hub id or the folder's name). */
        public Builder modelName(String name) {
            this.modelName = name;
            return this;
        }

        /** Loads the model (downloading it first for a hub id that is not cached). */
        public ChatGlmRuntime build() {
            if ((modelPath == null) == (modelId == null)) {
                throw new ChatGlmException("give either modelPath or modelId (a Hugging Face repo id)");
            }
            if (threads < 1) throw new ChatGlmException("threads must be at least 1, got " + threads);
            if (maxConcurrentChats < 1) throw new ChatGlmException("maxConcurrentChats must be at least 1, got " + maxConcurrentChats);
            if (maxQueuedChats < 0) throw new ChatGlmException("maxQueuedChats must not be negative, got " + maxQueuedChats);
            Path path = modelPath != null ? modelPath
                    : ModelLocator.resolve(modelId, revision, hubOptions != null ? hubOptions : HubOptions.fromEnvironment(),
                    downloadListener);
            LoadOptions options = LoadOptions.defaults().withThreads(threads).withQuantize(quantization)
                    .withPtuning(ptuningCheckpoint).withKvCache(kvCache);
            String name = modelName != null ? modelName
                    : modelId != null ? modelId : String.valueOf(modelPath.toAbsolutePath().normalize().getFileName());
            ChatGLM glm = ChatGLM.load(path, options);
            try {
                return new ChatGlmRuntime(glm, maxConcurrentChats, maxQueuedChats, name);
            } catch (RuntimeException e) {
                glm.close();
                throw e;
            }
        }
    }
}
