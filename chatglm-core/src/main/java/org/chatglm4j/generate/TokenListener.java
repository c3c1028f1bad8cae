package org.chatglm4j.generate;

/** Sees each token as it is chosen, the final {@code <eop>} included; returns false to stop generating. */
@FunctionalInterface
public interface TokenListener {
    /** Called after every generated token; return false to stop generating. */
    boolean onToken(int token);

    /** A listener that never stops generation. */
    TokenListener NONE = token -> true;
}
