package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code logits} and {@code generate} on ChatGLM2/3 model folders against the glm2/glm3 goldens. */
class Glm2CommandsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static String ids(JsonNode array) {
        StringJoiner j = new StringJoiner(",");
        array.forEach(n -> j.add(n.asText()));
        return j.toString();
    }

    static void assertRowsClose(JsonNode got, JsonNode want, String what) {
        assertThat(got.size()).as(what).isEqualTo(want.size());
        for (int i = 0; i < want.size(); i++) {
            assertThat(Math.abs(got.get(i).floatValue() - want.get(i).floatValue())).as("%s [%d]", what, i)
                    .isLessThanOrEqualTo(1e-3f);
        }
    }

    @ParameterizedTest
    @CsvSource({"glm2, glm2/model/checkpoint, ", "glm3, glm3/model/checkpoint, ",
            "glm2, glm2/model/checkpoint, glm2/ptuning", "glm3, glm3/model/checkpoint, glm3/ptuning"})
    void logitsOfTheFirstPrompt(String family, String folder, String ptuning) throws Exception {
        JsonNode prompt = ptuning == null ? Fixtures.json(family + "/model/forward.json").get("prompts").get(0)
                : Fixtures.json(ptuning + "/ptuning.json").get("prompts").get(0);
        List<String> args = new ArrayList<>(List.of("logits", "--model", Cli.fixture(folder), "--ids",
                ids(prompt.get("input_ids")), "--json", "--threads", "2"));
        if (ptuning != null) args.addAll(List.of("--ptuning", Cli.fixture(ptuning + "/ptuning_checkpoint")));
        Cli.Result r = Cli.run("", args.toArray(String[]::new));
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode logits = JSON.readTree(r.out()).get("logits");
        assertThat(logits.size()).isEqualTo(prompt.get("input_ids").size());
        for (int i = 0; i < logits.size(); i++) assertRowsClose(logits.get(i), prompt.get("logits").get(i), "row " + i);
    }

    /** Every greedy generation of generate.json, with the reference's eos list passed as --eos-ids. */
    @ParameterizedTest
    @ValueSource(strings = {"glm2", "glm3"})
    void greedyGenerationsWithEosIds(String family) throws Exception {
        for (JsonNode g : Fixtures.json(family + "/model/generate.json").get("generations")) {
            Cli.Result r = Cli.run("", "generate", "--model", Cli.fixture(family + "/model/checkpoint"), "--json",
                    "--greedy", "--max-length", g.get("max_length").asText(), "--ids", ids(g.get("input_ids")),
                    "--eos-ids", ids(g.get("eos_token_id")), "--threads", "2");
            assertThat(r.status()).as(r.err()).isZero();
            JsonNode out = JSON.readTree(r.out());
            assertThat(out.get("generated_ids")).as(g.get("name").asText()).isEqualTo(g.get("generated_ids"));
            assertThat(out.get("text").asText()).as(g.get("name").asText()).isEqualTo(g.get("decoded").asText());
        }
    }

    /** Without --eos-ids the model's own eos (config.json eos_token_id 2) ends generation. */
    @ParameterizedTest
    @ValueSource(strings = {"glm2", "glm3"})
    void theModelsOwnEosByDefault(String family) throws Exception {
        for (JsonNode g : Fixtures.json(family + "/model/generate.json").get("generations")) {
            if (g.get("eos_token_id").size() != 1) continue;
            Cli.Result r = Cli.run("", "generate", "--model", Cli.fixture(family + "/model/checkpoint"), "--json",
                    "--greedy", "--max-length", g.get("max_length").asText(), "--ids", ids(g.get("input_ids")),
                    "--threads", "2");
            assertThat(r.status()).as(r.err()).isZero();
            assertThat(JSON.readTree(r.out()).get("generated_ids")).as(g.get("name").asText())
                    .isEqualTo(g.get("generated_ids"));
        }
    }

    /** info on a v2/v3 folder: architecture, groups, context, KV memory at 2K/8K/32K, the chat-format decision. */
    @ParameterizedTest
    @CsvSource({"glm2, glm2, false", "glm3, glm3, false", "other, glm2, true"})
    void infoDescribesTheFamily(String name, String kind, boolean defaulted, @org.junit.jupiter.api.io.TempDir
            java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path folder = Fixtures.path((name.equals("glm3") ? "glm3" : "glm2") + "/model/checkpoint");
        if (name.equals("other")) {   // a fine-tune whose _name_or_path names no family: v2 by default
            for (String f : List.of("pytorch_model.bin", "tokenizer.model", "tokenizer_config.json")) {
                java.nio.file.Files.copy(folder.resolve(f), tmp.resolve(f));
            }
            java.nio.file.Files.writeString(tmp.resolve("config.json"), java.nio.file.Files.readString(
                    folder.resolve("config.json")).replace("oracle/glm2-public", "someone/finetune"));
            folder = tmp;
        }
        Cli.Result r = Cli.run("", "info", "--model", folder.toString(), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode info = JSON.readTree(r.out());
        assertThat(info.at("/config/architecture").asText()).isEqualTo("chatglm2");
        assertThat(info.at("/config/kv_groups").asInt()).isEqualTo(2);
        assertThat(info.at("/config/max_sequence_length").asInt()).isEqualTo(kind.equals("glm3") ? 8192 : 2048);
        assertThat(info.at("/chat_format/kind").asText()).isEqualTo(kind);
        assertThat(info.at("/chat_format/defaulted").asBoolean()).isEqualTo(defaulted);
        // keys + values of 2 groups × 16 dims per layer, float32
        long perToken = 2L * info.at("/config/num_layers").asInt() * 2 * 16 * 4;
        for (String n : List.of("2048", "8192", "32768")) {
            assertThat(info.at("/memory/kv_cache_bytes_at/" + n + "/f32").asLong()).isEqualTo(perToken * Long.parseLong(n));
            assertThat(info.at("/memory/kv_cache_bytes_at/" + n + "/f16").asLong()).isEqualTo(perToken * Long.parseLong(n) / 2);
        }
        Cli.Result text = Cli.run("", "info", "--model", folder.toString());
        assertThat(text.out()).contains("ChatGLM2/3").contains("sharing 2 key/value groups")
                .contains(defaulted ? "defaulted" : "chat format   " + kind);
    }
}
