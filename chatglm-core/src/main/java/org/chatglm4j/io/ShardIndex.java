package org.chatglm4j.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.ChatGlmException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A Hugging Face shard index ({@code pytorch_model.bin.index.json}, {@code model.safetensors.index.json}):
 * {@code {"metadata": {...}, "weight_map": {tensor name: shard file name}}}.
 *
 * @param shards shard file name → names of the tensors it must hold, shards in file-name order
 *               ({@code -00001-of-0000N} first)
 */
record ShardIndex(Path file, Map<String, List<String>> shards) {

    /** Largest index accepted; the real 6B model's is about 20 KB. */
    static final long MAX_INDEX_BYTES = 64L << 20;

    static ShardIndex read(Path file) {
        JsonNode root = JsonFiles.read(file, MAX_INDEX_BYTES);
        JsonNode map = root.isObject() ? root.get("weight_map") : null;
        if (map == null || !map.isObject()) throw new ChatGlmException(file + ": no \"weight_map\" object");
        if (map.isEmpty()) throw new ChatGlmException(file + ": \"weight_map\" names no tensors");
        Map<String, List<String>> shards = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode shard = e.getValue();
            if (!shard.isTextual()) {
                throw new ChatGlmException(file + ": weight_map entry '" + JsonFiles.oneLine(e.getKey())
                        + "' is not a file name");
            }
            String name = shard.textValue();
            // Shards must be files of the index's folder: a name must not lead anywhere else.
            if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\\")
                    || name.indexOf('\0') >= 0) {
                throw new ChatGlmException(file + ": weight_map names shard '" + JsonFiles.oneLine(name)
                        + "', which is not a plain file name in the index's folder");
            }
            shards.computeIfAbsent(name, k -> new ArrayList<>()).add(e.getKey());
        }
        shards.replaceAll((k, v) -> Collections.unmodifiableList(v));
        return new ShardIndex(file, Collections.unmodifiableMap(shards));
    }
}
