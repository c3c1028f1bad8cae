package org.chatglm4j.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Shard indexes: every shard must exist and hold exactly the tensors the index maps to it. */
class ShardedCheckpointTest {
    private static final String INDEX = "pytorch_model.bin.index.json";
    private static final String SHARD1 = "pytorch_model-00001-of-00002.bin";
    private static final String SHARD2 = "pytorch_model-00002-of-00002.bin";

    @TempDir
    Path dir;

    private ObjectNode index;

    @BeforeEach
    void copySharded() throws IOException {
        Path source = Fixtures.path("model_a/checkpoint_sharded");
        for (String f : new String[]{INDEX, SHARD1, SHARD2}) Files.copy(source.resolve(f), dir.resolve(f));
        index = (ObjectNode) JsonFiles.MAPPER.readTree(dir.resolve(INDEX).toFile());
    }

    private Path writeIndex() throws IOException {
        Path file = dir.resolve(INDEX);
        JsonFiles.MAPPER.writeValue(file.toFile(), index);
        return file;
    }

    private ObjectNode weightMap() {
        return (ObjectNode) index.get("weight_map");
    }

    private static void assertOpenFails(Path path, String fileInMessage, String expected) {
        assertThatThrownBy(() -> Checkpoint.open(path).close())
                .isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith(fileInMessage)
                .hasMessageContaining(expected)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }

    @Test
    void theCopiedFolderLoadsAndSoDoesTheIndexFileItself() throws IOException {
        Path file = writeIndex();
        try (Checkpoint c = Checkpoint.open(file)) {
            assertThat(c.format()).isEqualTo(Checkpoint.PYTORCH_SHARDED);
            assertThat(c.tensors()).hasSize(weightMap().size());
            assertThat(c.files()).containsExactly(dir.resolve(SHARD1), dir.resolve(SHARD2));
        }
    }

    @Test
    void indexNamingAMissingShard() throws IOException {
        weightMap().put("lm_head.weight", "pytorch_model-00003-of-00002.bin");
        Path file = writeIndex();
        assertOpenFails(dir, file.toString(), "shard 'pytorch_model-00003-of-00002.bin' does not exist");
        Files.delete(dir.resolve(SHARD1));
        assertOpenFails(dir, file.toString(), "shard '" + SHARD1 + "' does not exist");
    }

    @Test
    void indexWithInvalidJson() throws IOException {
        Path file = dir.resolve(INDEX);
        Files.writeString(file, "{\"weight_map\": {\"a\": \"" + SHARD1 + "\",}");
        assertOpenFails(dir, file.toString(), "invalid JSON at line 1");
        Files.writeString(file, "");
        assertOpenFails(dir, file.toString(), "invalid JSON");
        Files.writeString(file, "{\"metadata\": {}}");
        assertOpenFails(dir, file.toString(), "no \"weight_map\" object");
        Files.writeString(file, "{\"weight_map\": {}}");
        assertOpenFails(dir, file.toString(), "\"weight_map\" names no tensors");
        Files.writeString(file, "{\"weight_map\": {\"a\": 1}}");
        assertOpenFails(dir, file.toString(), "weight_map entry 'a' is not a file name");
    }

    @Test
    void shardNamesMustStayInTheFolder() throws IOException {
        weightMap().put("lm_head.weight", "../" + SHARD2);
        Path file = writeIndex();
        assertOpenFails(dir, file.toString(), "names shard '../" + SHARD2 + "', which is not a plain file name");
    }

    @Test
    void tensorMappedToAShardThatLacksIt() throws IOException {
        weightMap().put("transformer.layers.7.mlp.dense_4h_to_h.weight", SHARD1);
        writeIndex();
        assertOpenFails(dir, dir.resolve(SHARD1).toString(),
                "has no tensor 'transformer.layers.7.mlp.dense_4h_to_h.weight' although " + INDEX + " maps it");
        // moved to the other shard: missing there, and unexpected in the one that has it
        weightMap().remove("transformer.layers.7.mlp.dense_4h_to_h.weight");
        weightMap().put("lm_head.weight", SHARD1);
        writeIndex();
        assertOpenFails(dir, dir.resolve(SHARD1).toString(), "has no tensor 'lm_head.weight'");
    }

    @Test
    void shardHoldingAnUnmappedTensor() throws IOException {
        weightMap().remove("lm_head.weight");
        writeIndex();
        assertOpenFails(dir, dir.resolve(SHARD2).toString(),
                "holds tensor 'lm_head.weight' that " + INDEX + " does not map to this shard");
    }

    @Test
    void shardedSafetensors() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("st"));
        Map<String, TestTensors.Data> one = new LinkedHashMap<>();
        one.put("a", TestTensors.pattern(DType.F16, new long[]{4, 2}, 1));
        Map<String, TestTensors.Data> two = new LinkedHashMap<>();
        two.put("c", TestTensors.pattern(DType.F32, new long[]{3}, 2));
        two.put("b", TestTensors.pattern(DType.I8, new long[]{5}, 3));
        TestTensors.writeSafetensors(sub.resolve("model-00001-of-00002.safetensors"), one);
        TestTensors.writeSafetensors(sub.resolve("model-00002-of-00002.safetensors"), two);
        Path indexFile = sub.resolve("model.safetensors.index.json");
        Files.writeString(indexFile, """
                {"metadata": {"total_size": 33}, "weight_map": {"a": "model-00001-of-00002.safetensors",
                 "b": "model-00002-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}""");
        try (Checkpoint c = Checkpoint.open(sub)) {
            assertThat(c.format()).isEqualTo(Checkpoint.SAFETENSORS_SHARDED);
            assertThat(c.tensors().keySet()).containsExactly("a", "c", "b"); // shards in order, each in file order
            assertThat(TestTensors.bytes(c.get("b").data())).isEqualTo(two.get("b").bytes());
            assertThat(c.totalBytes()).isEqualTo(33);
        }
        Files.writeString(indexFile, """
                {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                 "c": "model-00002-of-00002.safetensors"}}""");
        assertOpenFails(sub, sub.resolve("model-00001-of-00002.safetensors").toString(),
                "has no tensor 'b' although model.safetensors.index.json maps it to this shard");
    }

    @Test
    void indexOfUnknownShardFormat() throws IOException {
        Path file = Files.writeString(dir.resolve("weights.index.json"), "{}");
        assertOpenFails(file, file.toString(), "cannot tell the shard format");
    }
}
