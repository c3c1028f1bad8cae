package org.chatglm4j.hub;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model repository id on a Hugging Face hub, {@code owner/name} (e.g. {@code THUDM/chatglm-6b}).
 * Both parts follow the hub's rules: letters, digits, {@code - _ .}, at most 96 characters, no {@code --} or
 * {@code ..}, not starting or ending with {@code -} or {@code .}. Those rules also make the parts safe as file-name
 * pieces and URL path segments.
 */
public record RepoId(String owner, String name) {

    private static final Pattern PART = Pattern.compile("[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?");

    /** Checks both parts against the hub's naming rules. */
    public RepoId {
        if (!validPart(owner) || !validPart(name)) {
            throw new IllegalArgumentException("not a hub repo id: " + owner + "/" + name);
        }
    }

    /** The repo id in {@code text}, or empty when it is not of the form {@code owner/name}. */
    public static Optional<RepoId> parse(String text) {
        if (text == null) return Optional.empty();
        int slash = text.indexOf('/');
        if (slash < 0 || slash != text.lastIndexOf('/')) return Optional.empty();
        String owner = text.substring(0, slash);
        String name = text.substring(slash + 1);
        return validPart(owner) && validPart(name) ? Optional.of(new RepoId(owner, name)) : Optional.empty();
    }

    /** The folder of this repo in a hub cache, as huggingface_hub names it. */
    public String cacheFolderName() {
        return "models--" + owner + "--" + name;
    }

    @Override
    public String toString() {
        return owner + "/" + name;
    }

    private static boolean validPart(String s) {
        return s != null && PART.matcher(s).matches() && !s.contains("--") && !s.contains("..");
    }
}
