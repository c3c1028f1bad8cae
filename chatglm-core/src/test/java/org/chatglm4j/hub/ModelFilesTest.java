package org.chatglm4j.hub;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelFilesTest {
    private static final List<String> BASE = List.of("config.json", "tokenizer_config.json", "ice_text.model",
            "configuration_chatglm.py", "modeling_chatglm.py", "quantization.py", "tokenization_chatglm.py",
            "README.md", ".gitattributes", "LICENSE");

    @TempDir
    Path dir;

    private static List<String> with(String... more) {
        var all = new java.util.ArrayList<>(BASE);
        all.addAll(List.of(more));
        return all;
    }

    @Test
    void planTakesDataFilesOnly() {
        ModelFiles.Plan plan = ModelFiles.plan("r@main", with("pytorch_model.bin", "generation_config.json"));
        assertThat(plan.files()).containsExactly("config.json", "tokenizer_config.json", "ice_text.model",
                "generation_config.json", "pytorch_model.bin");
        assertThat(plan.weights()).isEqualTo(ModelFiles.Weights.PYTORCH);
    }

    @Test
    void planPrefersSafetensorsThenSingleFilesThenIndexes() {
        assertThat(ModelFiles.plan("r", with("pytorch_model.bin", "model.safetensors",
                "model.safetensors.index.json")).weights()).isEqualTo(ModelFiles.Weights.SAFETENSORS);
        assertThat(ModelFiles.plan("r", with("pytorch_model.bin", "model.safetensors.index.json",
                "model-00001-of-00002.safetensors")).weights()).isEqualTo(ModelFiles.Weights.SAFETENSORS_INDEX);
        assertThat(ModelFiles.plan("r", with("pytorch_model.bin.index.json", "pytorch_model.bin")).weights())
                .isEqualTo(ModelFiles.Weights.PYTORCH);
        ModelFiles.Plan sharded = ModelFiles.plan("r", with("pytorch_model.bin.index.json",
                "pytorch_model-00001-of-00008.bin"));
        assertThat(sharded.weights()).isEqualTo(ModelFiles.Weights.PYTORCH_INDEX);
        assertThat(sharded.files()).endsWith("pytorch_model.bin.index.json")
                .doesNotContain("pytorch_model-00001-of-00008.bin");
    }

    @Test
    void planNamesWhatTheRepoLacks() {
        assertThatThrownBy(() -> ModelFiles.plan("x/y@main", List.of("config.json", "modeling_chatglm.py")))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage("x/y@main is not a ChatGLM model repository: it has no tokenizer_config.json, "
                        + "ice_text.model or tokenizer.model, weights (model.safetensors, model.safetensors.index.json, "
                        + "pytorch_model.bin or pytorch_model.bin.index.json)");
    }

    /** THUDM/chatglm2-6b, chatglm3-6b and codegeex2-6b: tokenizer.model and seven .bin shards behind an index. */
    @Test
    void chatglm2RepositoryListing() {
        List<String> listing = new java.util.ArrayList<>(List.of("config.json", "tokenizer_config.json",
                "tokenizer.model", "tokenization_chatglm.py", "modeling_chatglm.py", "pytorch_model.bin.index.json"));
        for (int i = 1; i <= 7; i++) listing.add("pytorch_model-0000" + i + "-of-00007.bin");
        ModelFiles.Plan plan = ModelFiles.plan("THUDM/chatglm2-6b@main", listing);
        assertThat(plan.weights()).isEqualTo(ModelFiles.Weights.PYTORCH_INDEX);
        assertThat(plan.files()).containsExactly("config.json", "tokenizer_config.json", "tokenizer.model",
                "pytorch_model.bin.index.json");
    }

    @Test
    void shardsOfTheFixtureIndex() {
        assertThat(ModelFiles.shards(Fixtures.path("model_a/checkpoint_sharded/pytorch_model.bin.index.json"),
                ModelFiles.Weights.PYTORCH_INDEX))
                .containsExactly("pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin");
    }

    private Path index(String json) throws IOException {
        Path p = dir.resolve("pytorch_model.bin.index.json");
        Files.writeString(p, json);
        return p;
    }

    @Test
    void shardNamesThatCouldEscapeTheFolderAreRefused() throws IOException {
        for (String bad : new String[]{"../evil.bin", "/etc/passwd.bin", "sub/x.bin", "..\\\\x.bin", ".hidden.bin",
                "modeling_chatglm.py", "", "a\\u0000.bin"}) {
            Path p = index("{\"weight_map\": {\"w\": \"" + bad + "\"}}");
            assertThatThrownBy(() -> ModelFiles.shards(p, ModelFiles.Weights.PYTORCH_INDEX)).as(bad)
                    .isInstanceOf(ChatGlmException.class)
                    .hasMessageContaining(p + ": weight_map names \"")
                    .hasMessageEndingWith("\", which is not a plain *.bin file name")
                    .hasMessageNotContaining("\n");
        }
        Path safetensorsKind = index("{\"weight_map\": {\"w\": \"x.bin\"}}");
        assertThatThrownBy(() -> ModelFiles.shards(safetensorsKind, ModelFiles.Weights.SAFETENSORS_INDEX))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageEndingWith("which is not a plain *.safetensors file name");
    }

    @Test
    void malformedIndexesAreOneLineErrors() throws IOException {
        Path notJson = index("{\"weight_map\": ");
        assertThatThrownBy(() -> ModelFiles.shards(notJson, ModelFiles.Weights.PYTORCH_INDEX))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith(notJson + ": not valid JSON: ");
        for (String json : new String[]{"{}", "[]", "{\"weight_map\": []}", "{\"weight_map\": {}}", "null"}) {
            Path p = index(json);
            assertThatThrownBy(() -> ModelFiles.shards(p, ModelFiles.Weights.PYTORCH_INDEX)).as(json)
                    .isInstanceOf(ChatGlmException.class)
                    .hasMessage(p + ": no \"weight_map\" object naming the shard files");
        }
        Path number = index("{\"weight_map\": {\"w\": 3}}");
        assertThatThrownBy(() -> ModelFiles.shards(number, ModelFiles.Weights.PYTORCH_INDEX))
                .isInstanceOf(ChatGlmException.class)
                .hasMessage(number + ": weight_map entry \"w\" is not a file name");
    }

    @Test
    void oversizedIndexIsRefusedBeforeParsing() throws IOException {
        Path p = dir.resolve("pytorch_model.bin.index.json");
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(ModelFiles.MAX_INDEX_BYTES + 1); // sparse: costs no disk
        }
        assertThatThrownBy(() -> ModelFiles.shards(p, ModelFiles.Weights.PYTORCH_INDEX))
                .isInstanceOf(ChatGlmException.class)
                .hasMessageContaining("weight index of " + (ModelFiles.MAX_INDEX_BYTES + 1) + " bytes is larger");
    }

    @Test
    void missingListsWhatAFolderLacks() throws IOException {
        assertThat(ModelFiles.missing(Fixtures.path("model_a/checkpoint"))).isEmpty();
        assertThat(ModelFiles.missing(Fixtures.path("model_a/checkpoint_sharded")))
                .containsExactly("tokenizer_config.json", "ice_text.model or tokenizer.model");
        assertThat(ModelFiles.missing(Fixtures.path("glm2/model/checkpoint"))).isEmpty();
        assertThat(ModelFiles.missing(dir.resolve("absent")))
                .containsExactly("config.json", "tokenizer_config.json", "ice_text.model or tokenizer.model",
                        "weights (model.safetensors, model.safetensors.index.json, pytorch_model.bin or "
                                + "pytorch_model.bin.index.json)");

        for (String f : List.of("config.json", "tokenizer_config.json", "ice_text.model")) {
            Files.writeString(dir.resolve(f), "x");
        }
        Files.copy(Fixtures.path("model_a/checkpoint_sharded/pytorch_model.bin.index.json"),
                dir.resolve("pytorch_model.bin.index.json"));
        Files.writeString(dir.resolve("pytorch_model-00001-of-00002.bin"), "x");
        assertThat(ModelFiles.missing(dir)).containsExactly("pytorch_model-00002-of-00002.bin");

        // a dangling link (blob deleted) does not count as present
        Files.createSymbolicLink(dir.resolve("pytorch_model-00002-of-00002.bin"), dir.resolve("gone"));
        assertThat(ModelFiles.missing(dir)).containsExactly("pytorch_model-00002-of-00002.bin");
    }
}
