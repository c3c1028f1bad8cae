package org.chatglm4j.hub;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.ChatGlmException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Which files of a model repository chatglm4j needs, and whether a folder has them all. Only data files are ever
 * chosen: the repository's {@code *.py} files (custom modeling code) and anything else are left alone.
 */
final class ModelFiles {
    static final List<String> REQUIRED = List.of("config.json", "tokenizer_config.json");
    /** One of these: ChatGLM-6B's tokenizer, or ChatGLM2/3's (THUDM/chatglm2-6b, chatglm3-6b, codegeex2-6b). */
    static final List<String> TOKENIZERS = List.of("ice_text.model", "tokenizer.model");
    private static final String TOKENIZER_CHOICES = "ice_text.model or tokenizer.model";
    /** Fetched when the repository has them. */
    static final List<String> OPTIONAL = List.of("generation_config.json");

    /** Weight layouts in order of preference, the order transformers' from_pretrained tries them in. */
    enum Weights {
        SAFETENSORS("model.safetensors", null),
        SAFETENSORS_INDEX("model.safetensors.index.json", ".safetensors"),
        PYTORCH("pytorch_model.bin", null),
        PYTORCH_INDEX("pytorch_model.bin.index.json", ".bin");

        final String file;
        /** For an index: the extension every shard it names must have; null for a single file. */
        final String shardExtension;

        Weights(String file, String shardExtension) {
            this.file = file;
            this.shardExtension = shardExtension;
        }

        boolean sharded() {
            return shardExtension != null;
        }
    }

    /** What to fetch: the required and present optional files, then the chosen weights file (or index). */
    record Plan(List<String> files, Weights weights) {
    }

    /** Real indexes are tens of KB; this bounds what an untrusted one can make us parse. */
    static final long MAX_INDEX_BYTES = 32L << 20;
    private static final Pattern SHARD_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,254}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String WEIGHT_CHOICES = "model.safetensors, model.safetensors.index.json, pytorch_model.bin"
            + " or pytorch_model.bin.index.json";

    private ModelFiles() {
    }

    /** Chooses the files to fetch from a repository listing, or says what the repository lacks. */
    static Plan plan(String what, Collection<String> siblings) {
        Set<String> have = Set.copyOf(siblings);
        List<String> files = new ArrayList<>();
        List<String> lacking = new ArrayList<>();
        for (String f : REQUIRED) {
            if (have.contains(f)) files.add(f);
            else lacking.add(f);
        }
        String tokenizer = TOKENIZERS.stream().filter(have::contains).findFirst().orElse(null);
        if (tokenizer != null) files.add(tokenizer);
        else lacking.add(TOKENIZER_CHOICES);
        Weights weights = null;
        for (Weights w : Weights.values()) {
            if (have.contains(w.file)) {
                weights = w;
                break;
            }
        }
        if (weights == null) lacking.add("weights (" + WEIGHT_CHOICES + ")");
        if (!lacking.isEmpty()) {
            throw new ChatGlmException(what + " is not a ChatGLM model repository: it has no "
                    + String.join(", ", lacking));
        }
        for (String f : OPTIONAL) if (have.contains(f)) files.add(f);
        files.add(weights.file);
        return new Plan(List.copyOf(files), weights);
    }

    /** The distinct shard files a weight index names, sorted; each is a plain file name of the index's kind. */
    static List<String> shards(Path index, Weights kind) {
        JsonNode root;
        try {
            long size = Files.size(index);
            if (size > MAX_INDEX_BYTES) {
                throw new ChatGlmException(index + ": weight index of " + size + " bytes is larger than the "
                        + MAX_INDEX_BYTES + " bytes allowed");
            }
            root = JSON.readTree(index.toFile());
        } catch (JacksonException e) {
            throw new ChatGlmException(index + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ChatGlmException("cannot read " + index + ": " + e.getMessage(), e);
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject() || map.isEmpty()) {
            throw new ChatGlmException(index + ": no \"weight_map\" object naming the shard files");
        }
        Set<String> shards = new TreeSet<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw new ChatGlmException(index + ": weight_map entry \"" + e.getKey() + "\" is not a file name");
            }
            String shard = v.textValue();
            if (!SHARD_NAME.matcher(shard).matches() || !shard.endsWith(kind.shardExtension)) {
                throw new ChatGlmException(index + ": weight_map names \"" + shard.replaceAll("\\p{Cntrl}", "?")
                        + "\", which is not a plain *" + kind.shardExtension + " file name");
            }
            shards.add(shard);
        }
        return List.copyOf(shards);
    }

    /**
     * What {@code folder} lacks to be a complete model (empty when complete): missing required files, no weights,
     * or shards named by the weight index but absent.
     */
    static List<String> missing(Path folder) {
        List<String> lacking = new ArrayList<>();
        for (String f : REQUIRED) if (!HubCache.present(folder.resolve(f))) lacking.add(f);
        if (TOKENIZERS.stream().noneMatch(f -> HubCache.present(folder.resolve(f)))) lacking.add(TOKENIZER_CHOICES);
        Weights found = null;
        for (Weights w : Weights.values()) {
            if (HubCache.present(folder.resolve(w.file))) {
                found = w;
                break;
            }
        }
        if (found == null) {
            lacking.add("weights (" + WEIGHT_CHOICES + ")");
        } else if (found.sharded()) {
            for (String shard : shards(folder.resolve(found.file), found)) {
                if (!HubCache.present(folder.resolve(shard))) lacking.add(shard);
            }
        }
        return lacking;
    }
}
