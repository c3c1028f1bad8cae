package org.chatglm4j.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;
import dev.langchain4j.model.chat.request.DefaultChatRequestParameters;

import java.util.Objects;

/**
 * The common LangChain4j parameters plus ChatGLM's own: {@code repetitionPenalty} (the reference's
 * {@code repetition_penalty}, 1 = off) and {@code seed} (a sampled reply is reproducible for a given seed).
 */
public final class ChatGlmChatRequestParameters extends DefaultChatRequestParameters {
    private final Double repetitionPenalty;
    private final Long seed;

    private ChatGlmChatRequestParameters(Builder builder) {
        super(builder);
        this.repetitionPenalty = builder.repetitionPenalty;
        this.seed = builder.seed;
    }

    /** The reference's {@code repetition_penalty}; null when not set. */
    public Double repetitionPenalty() {
        return repetitionPenalty;
    }

    /** Seed of the sampler; null draws a fresh one. */
    public Long seed() {
        return seed;
    }

    @Override
    public ChatGlmChatRequestParameters overrideWith(ChatRequestParameters that) {
        return builder().overrideWith(this).overrideWith(that).build();
    }

    @Override
    public ChatGlmChatRequestParameters defaultedBy(ChatRequestParameters that) {
        return builder().overrideWith(that).overrideWith(this).build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChatGlmChatRequestParameters p && super.equals(o)
                && Objects.equals(repetitionPenalty, p.repetitionPenalty) && Objects.equals(seed, p.seed);
    }

    @Override
    public int hashCode() {
        return Objects.hash(super.hashCode(), repetitionPenalty, seed);
    }

    @Override
    public String toString() {
        return "ChatGlmChatRequestParameters{" + super.toString() + ", repetitionPenalty=" + repetitionPenalty
                + ", seed=" + seed + "}";
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link ChatGlmChatRequestParameters}. */
    public static final class Builder extends DefaultChatRequestParameters.Builder<Builder> {
        private Double repetitionPenalty;
        private Long seed;

        @Override
        public Builder overrideWith(ChatRequestParameters parameters) {
            super.overrideWith(parameters);
            if (parameters instanceof ChatGlmChatRequestParameters p) {
                if (p.repetitionPenalty != null) repetitionPenalty = p.repetitionPenalty;
                if (p.seed != null) seed = p.seed;
            }
            return this;
        }

        public Builder repetitionPenalty(Double penalty) {
            this.repetitionPenalty = penalty;
            return this;
        }

        public Builder seed(Long seed) {
            this.seed = seed;
            return this;
        }

        @Override
        public ChatGlmChatRequestParameters build() {
            return new ChatGlmChatRequestParameters(this);
        }
    }
}
