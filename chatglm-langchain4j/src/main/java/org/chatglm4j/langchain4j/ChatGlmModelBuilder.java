package org.chatglm4j.langchain4j;

import dev.langchain4j.model.chat.listener.ChatModelListener;
import dev.langchain4j.model.chat.request.ChatRequestParameters;
import org.chatglm4j.hub.HubOptions;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.quant.QuantFormat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the builders of {@link ChatGlmChatModel} and {@link ChatGlmStreamingChatModel} share: either a
 * {@link ChatGlmRuntime} to share, or how to load a model of the chat model's own, and the default request
 * parameters. Defaults not given are the reference {@code chat()}'s: temperature 0.95, top-p 0.7, top-k 50, replies
 * up to the model's context length.
 *
 * @param <B> the concrete builder
 */
public abstract class ChatGlmModelBuilder<B extends ChatGlmModelBuilder<B>> {
    private ChatGlmRuntime runtime;
    private final ChatGlmRuntime.Builder load = ChatGlmRuntime.builder();
    private boolean loadGiven;
    private final ChatGlmChatRequestParameters.Builder defaults = ChatGlmChatRequestParameters.builder();
    private final List<ChatModelListener> listeners = new ArrayList<>();

    ChatGlmModelBuilder() {
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }

    /** A loaded model to share with other chat models (the caller closes it). */
    public B runtime(ChatGlmRuntime shared) {
        this.runtime = shared;
        return self();
    }

    /** Loads a model of its own from a local folder or {@code .cglm} file (closed with the chat model). */
    public B modelPath(Path path) {
        load.modelPath(path);
        loadGiven = true;
        return self();
    }

    /** Loads a model of its own from a Hugging Face repo id, e.g. {@code THUDM/chatglm-6b}. */
    public B modelId(String repoId) {
        load.modelId(repoId);
        loadGiven = true;
        return self();
    }

    /** Branch, tag or commit of {@link #modelId}. */
    public B revision(String revision) {
        load.revision(revision);
        return self();
    }

    /** Hub endpoint, cache folder, token, offline mode (default: from the environment). */
    public B hubOptions(HubOptions options) {
        load.hubOptions(options);
        return self();
    }

    /** Quantization while loading: INT8/INT4 as the reference's {@code quantize()}, or Q8/Q4 blocks of 32. */
    public B quantization(QuantFormat format) {
        load.quantization(format);
        return self();
    }

    /** Compute threads (default: available processors). */
    public B threads(int threads) {
        load.threads(threads);
        return self();
    }

    /** A P-Tuning v2 checkpoint folder. */
    public B ptuningCheckpoint(Path folder) {
        load.ptuningCheckpoint(folder);
        return self();
    }

    /** Precision of the attention caches. */
    public B kvCache(KvCache.Precision precision) {
        load.kvCache(precision);
        return self();
    }

    /** Chats of the model's own runtime decoded together at most (default 8). */
    public B maxConcurrentChats(int n) {
        load.maxConcurrentChats(n);
        return self();
    }

    /** Default temperature; 0 means greedy decoding. */
    public B temperature(Double temperature) {
        defaults.temperature(temperature);
        return self();
    }

    /** Default nucleus sampling threshold (values &ge; 1 turn it off). */
    public B topP(Double topP) {
        defaults.topP(topP);
        return self();
    }

    /** Default top-k (0 turns it off). */
    public B topK(Integer topK) {
        defaults.topK(topK);
        return self();
    }

    /** Default limit of new tokens per reply. */
    public B maxOutputTokens(Integer maxOutputTokens) {
        defaults.maxOutputTokens(maxOutputTokens);
        return self();
    }

    /** Default stop strings (the reply ends before the first one; it is not part of the reply). */
    public B stopSequences(List<String> stop) {
        defaults.stopSequences(stop);
        return self();
    }

    /** Default repetition penalty (1 = off). */
    public B repetitionPenalty(Double penalty) {
        defaults.repetitionPenalty(penalty);
        return self();
    }

    /** Default sampler seed. */
    public B seed(Long seed) {
        defaults.seed(seed);
        return self();
    }

    /** Default request parameters in one go (applied over the individual settings above). */
    public B defaultRequestParameters(ChatRequestParameters parameters) {
        if (parameters != null) defaults.overrideWith(parameters);
        return self();
    }

    /** Listeners told about every request, response and error. */
    public B listeners(List<ChatModelListener> more) {
        if (more != null) listeners.addAll(more);
        return self();
    }

    /** What {@code build()} hands the chat model: the runtime, whether it owns it, defaults and listeners. */
    record Settings(ChatGlmRuntime runtime, boolean ownsRuntime, ChatGlmChatRequestParameters defaults,
                    List<ChatModelListener> listeners) {
    }

    Settings settings() {
        if ((runtime == null) == !loadGiven) {
            throw new IllegalArgumentException("give either runtime(...) or modelPath(...)/modelId(...)");
        }
        ChatGlmRuntime rt = runtime != null ? runtime : load.build();
        ChatGlmChatRequestParameters p = ChatGlmChatRequestParameters.builder().modelName(rt.modelName())
                .overrideWith(defaults.build()).build();
        try {
            ChatGlmRequests.checkSupported(p, rt.modelName());
            ChatGlmRequests.generationConfig(p, rt.contextLength());   // invalid numbers fail at build time
        } catch (RuntimeException e) {
            if (runtime == null) rt.close();
            throw e;
        }
        return new Settings(rt, runtime == null, p, List.copyOf(listeners));
    }
}
