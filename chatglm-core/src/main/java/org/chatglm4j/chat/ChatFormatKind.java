package org.chatglm4j.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Which chat format (and so which role tokens, stop tokens and {@code process_response}) a model speaks. ChatGLM2-6B,
 * ChatGLM3-6B and CodeGeeX2-6B share the architecture and the {@code tokenizer.model}; only their Python code
 * differs, so nothing in the weights tells v2 from v3. The decision, in order: an explicit {@code --chat-format};
 * the hub repo id; {@code config.json}'s {@code _name_or_path} (or {@code tokenizer_config.json}'s
 * {@code name_or_path} in a tokenizer-only folder, one without config.json): {@code chatglm3}/{@code glm3} → v3,
 * {@code chatglm2}, {@code glm2} or {@code codegeex2} → v2; otherwise v2, marked as defaulted. ChatGLM-6B folders
 * ({@code ice_text.model}) are always {@link #CHATGLM}.
 */
public enum ChatFormatKind {
    /** ChatGLM-6B: {@code [Round i]\n问：…\n答：…}. */
    CHATGLM("chatglm"),
    /** ChatGLM2-6B / CodeGeeX2-6B: {@code [Round i]\n\n问：…\n\n答：…}, rounds counted from 1. */
    GLM2("glm2"),
    /** ChatGLM3-6B: role tokens, system prompt, tools. */
    GLM3("glm3");

    /** Real configs are a few KB; bounds what a wrong file can make us parse. */
    private static final long MAX_CONFIG_BYTES = 1L << 20;

    private final String cliName;

    ChatFormatKind(String cliName) {
        this.cliName = cliName;
    }

    /** The name {@code --chat-format} takes and {@code info} prints. */
    public String cliName() {
        return cliName;
    }

    /**
     * The outcome of {@link #decide}.
     *
     * @param kind      the chat format
     * @param reason    what decided it, for {@code info} (e.g. {@code "config.json _name_or_path THUDM/chatglm3-6b"})
     * @param defaulted true when nothing named the family and v2 was assumed
     */
    public record Decision(ChatFormatKind kind, String reason, boolean defaulted) {
    }

    /** {@code glm2} or {@code glm3} (what {@code --chat-format} accepts); anything else is a clear error. */
    public static ChatFormatKind parse(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "glm2", "chatglm2" -> GLM2;
            case "glm3", "chatglm3" -> GLM3;
            default -> throw new ChatGlmException("unknown chat format \"" + name + "\": expected glm2 or glm3");
        };
    }

    /** The family a model name points to ({@code THUDM/chatglm3-6b} → v3, {@code codegeex2-6b} → v2), or null. */
    public static ChatFormatKind fromName(String name) {
        if (name == null) return null;
        String n = name.toLowerCase(Locale.ROOT);
        if (n.contains("chatglm3") || n.contains("glm3")) return GLM3;
        if (n.contains("chatglm2") || n.contains("glm2") || n.contains("codegeex2")) return GLM2;
        return null;
    }

    /**
     * Decides the chat format of a ChatGLM2/3 model.
     *
     * @param explicit the {@code --chat-format} value, or null
     * @param repoId   the hub repo id the model was resolved from, or null for a local folder
     * @param folder   the model or tokenizer folder (its {@code config.json} / {@code tokenizer_config.json} are
     *                 read when present), or null
     */
    public static Decision decide(String explicit, String repoId, Path folder) {
        if (explicit != null) return new Decision(parse(explicit), "--chat-format " + explicit.strip(), false);
        ChatFormatKind k = fromName(repoId);
        if (k != null) return new Decision(k, "hub repo id " + repoId, false);
        if (folder != null && Files.isDirectory(folder)) {
            String name = nameIn(folder.resolve("config.json"), "_name_or_path");
            k = fromName(name);
            if (k != null) return new Decision(k, "config.json _name_or_path " + name, false);
            if (!Files.exists(folder.resolve("config.json"))) {   // a tokenizer folder: its own name decides
                name = nameIn(folder.resolve("tokenizer_config.json"), "name_or_path");
                k = fromName(name);
                if (k != null) return new Decision(k, "tokenizer_config.json name_or_path " + name, false);
            }
        }
        return new Decision(GLM2, "default (no repo id or _name_or_path names chatglm2/chatglm3/codegeex2)", true);
    }

    /** The decision for a name found elsewhere (a converted file's header): the name, else the v2 default. */
    public static Decision decideFromName(String explicit, String name, String what) {
        if (explicit != null) return new Decision(parse(explicit), "--chat-format " + explicit.strip(), false);
        ChatFormatKind k = fromName(name);
        if (k != null) return new Decision(k, what + " " + name, false);
        return new Decision(GLM2, "default (no repo id or _name_or_path names chatglm2/chatglm3/codegeex2)", true);
    }

    /** A string field of a small JSON file, or null when the file, the field or a readable value is absent. */
    private static String nameIn(Path file, String key) {
        try {
            if (!Files.isRegularFile(file) || Files.size(file) > MAX_CONFIG_BYTES) return null;
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            JsonNode v = root == null ? null : root.get(key);
            return v != null && v.isTextual() ? v.textValue() : null;
        } catch (IOException e) {
            return null;   // the loader reports an unreadable config.json on its own, with its own message
        }
    }
}
