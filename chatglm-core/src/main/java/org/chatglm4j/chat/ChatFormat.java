package org.chatglm4j.chat;

import org.chatglm4j.generate.GenerationConfig;

import java.util.List;

/**
 * The chat template of one model generation, chosen once when a model is loaded: how a conversation becomes the
 * prompt ids, which ids end the reply, which steps {@code stream_chat} yields, and {@code process_response}.
 * <ul>
 *   <li>{@link Glm1ChatFormat} ChatGLM-6B: {@code [Round i]\n问：…\n答：…\n}, rounds from 0;</li>
 *   <li>{@link Glm2ChatFormat} ChatGLM2-6B / CodeGeeX2-6B: {@code [Round i]\n\n问：…\n\n答：…\n\n}, rounds from 1;</li>
 *   <li>{@link Glm3ChatFormat} ChatGLM3-6B: role tokens, metadata, system prompt and tools.</li>
 * </ul>
 * A conversation is a list of {@link Message}s; v1/v2 accept only alternating user/assistant messages (a
 * {@link Round} is one such pair).
 */
public sealed interface ChatFormat permits Glm1ChatFormat, Glm2ChatFormat, Glm3ChatFormat {

    /** {@code chatglm}, {@code glm2} or {@code glm3}, as {@link ChatFormatKind#cliName()}. */
    String name();

    /**
     * The prompt for {@code history} followed by {@code turn}, leaving out the oldest history entries (never a
     * leading system message) until the prompt plus room for a reply fits in {@code max_length}.
     */
    PreparedPrompt prepare(PromptTokenizer tokenizer, List<Message> history, Message turn, GenerationConfig config);

    /**
     * The generation settings of this format's chat(): ChatGLM3 ends a reply at eos, {@code <|user|>} or
     * {@code <|observation|>} (the reference's {@code eos_token_id} list), unless the caller gave its own list.
     */
    default GenerationConfig forChat(GenerationConfig config, PromptTokenizer tokenizer) {
        return config;
    }

    /** How many generated ids at the end are not part of the reply (ChatGLM3 decodes {@code output_ids[:-1]}). */
    default int droppedTail() {
        return 0;
    }

    /** Whether stream_chat yields at a step whose decoded reply so far is {@code decoded}. */
    default boolean yields(String decoded) {
        return !decoded.isEmpty() && decoded.charAt(decoded.length() - 1) != '\uFFFD';
    }

    /**
     * The ids a later round feeds on top of the cache of the earlier ones (the reference's stream_chat with
     * {@code past_key_values}, as its cli_demo.py loops): ChatGLM2 {@code "\n\n[Round n]\n\n问：…\n\n答："}
     * without special tokens and without its first id, ChatGLM3 {@code build_chat_input(query, role=role)}.
     */
    default int[] continuation(PromptTokenizer tokenizer, List<Message> history, Message turn) {
        throw new org.chatglm4j.ChatGlmException("the " + name() + " chat format has no cached continuation "
                + "(ChatGLM2/3 only)");
    }

    /** {@code process_response}: the reply and the assistant messages it adds to the history. */
    Reply postprocess(String decoded, List<Message> history);

    /** The reply of one turn and the history entries it adds. */
    record Reply(AssistantReply reply, List<Message> added) {
    }

    /** The format of a family, as {@link ChatFormatKind#decide} chose it. */
    static ChatFormat of(ChatFormatKind kind) {
        return switch (kind) {
            case CHATGLM -> Glm1ChatFormat.INSTANCE;
            case GLM2 -> Glm2ChatFormat.INSTANCE;
            case GLM3 -> Glm3ChatFormat.INSTANCE;
        };
    }
}
