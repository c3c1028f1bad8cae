package org.chatglm4j.generate;

/** Sees each token as it is chosen, the final {@code <eop>} included; returns false to stop generating. */
@FunctionalInterface
public interface TokenListener {
    boolean onToken(int token);

    TokenListener NONE = token -> true;
}
