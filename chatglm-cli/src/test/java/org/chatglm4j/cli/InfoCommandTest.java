package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.chatglm4j.cglm.CglmWriter;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code chatglm info} on every checkpoint layout of the fixtures. */
class InfoCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    // model_a: h 64, inner 160, 3 layers, vocab 1644; stored fp16, lm_head.weight (1644·64·2 bytes) unused
    @ParameterizedTest
    @CsvSource({
            "model_a/checkpoint,              pytorch,             1, 0",
            "model_a/checkpoint_sharded,      pytorch-sharded,     2, 0",
            "model_a/checkpoint_safetensors,  safetensors,         1, 0",
            "model_a/checkpoint_int8,         pytorch,             1, 8",
            "model_a/checkpoint_int4,         pytorch,             1, 4"})
    void describesEveryLayout(String dir, String format, int files, int bits) throws Exception {
        Cli.Result r = Cli.run("", "info", "--model", Cli.fixture(dir), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode info = JSON.readTree(r.out());
        JsonNode c = info.get("config");
        assertThat(c.get("num_layers").asInt()).isEqualTo(3);
        assertThat(c.get("hidden_size").asInt()).isEqualTo(64);
        assertThat(c.get("num_attention_heads").asInt()).isEqualTo(4);
        assertThat(c.get("vocab_size").asInt()).isEqualTo(1644);
        assertThat(c.get("position_encoding").asText()).isEqualTo("2D");
        assertThat(c.get("quantization_bit").asInt()).isEqualTo(bits);
        JsonNode w = info.get("weights");
        assertThat(w.get("format").asText()).isEqualTo(format);
        assertThat(w.get("files")).hasSize(files);
        long h = 64, inner = 160, vocab = 1644;
        long params = vocab * h + 3 * (4 * h + 3 * h * h + 3 * h + h * h + h + inner * h + inner + h * inner + h) + 2 * h;
        assertThat(w.get("parameters").asLong()).isEqualTo(params);
        assertThat(w.get("unused_bytes").asLong()).isGreaterThanOrEqualTo(vocab * h * 2);
        assertThat(w.get("used_bytes").asLong() + w.get("unused_bytes").asLong()).isEqualTo(w.get("bytes").asLong());
        long tensors = 0;
        for (JsonNode d : w.get("dtypes")) tensors += d.get("tensors").asLong();
        assertThat(tensors).isEqualTo(w.get("tensors").asLong());
        if (bits == 0) {
            assertThat(w.get("dtypes").fieldNames()).toIterable().containsExactly("f16");
            assertThat(w.get("used_bytes").asLong()).isEqualTo(params * 2);
        } else {
            assertThat(w.get("dtypes").has("i8")).isTrue();
        }
        JsonNode m = info.get("memory");
        assertThat(m.get("max_length").asInt()).isEqualTo(2048);
        // the cache chat uses by default, off the heap: float32 for a model this small (fp16 from 256 MiB on)
        assertThat(m.get("kv_cache_precision").asText()).isEqualTo("f32");
        assertThat(m.get("kv_cache_bytes_per_token").asLong()).isEqualTo(2 * 3 * 64 * 4);
        assertThat(m.get("kv_cache_bytes_at_max_length").asLong()).isEqualTo(2048L * 2 * 3 * 64 * 4);
        assertThat(m.get("total_bytes").asLong()).isEqualTo(m.get("heap_bytes").asLong() + w.get("used_bytes").asLong()
                + m.get("kv_cache_bytes_at_max_length").asLong());
    }

    @Test
    void pTuningAndTheTextReport() {
        Cli.Result r = Cli.run("", "info", "--model", Cli.fixture("model_b/checkpoint"), "--ptuning",
                Cli.fixture("ptuning_b/ptuning_checkpoint"), "--max-length", "100");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("2 layers, hidden 96, 6 heads (head size 16), inner 256, vocab 1544",
                "1D rotary", "quantization  none", "pre_seq_len 4, prefix_projection true", "tokenizer     ice_text.model: 1544 tokens",
                "weights       pytorch, 1 file:", "pytorch_model.bin", "tensors       ", "f16 × ", "parameters    ",
                "KV cache (float32, the default for a model this small, off-heap): 1.5 KiB per token", "at length 100",
                "predicted peak RSS", "JAVA_OPTS=-Xmx1g");
    }

    /** A .cglm single file (chatglm4j's own format), as --model takes it: info and tokenize read its header. */
    @Test
    void singleFileModel(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("model_a-q4.cglm");
        CglmWriter.convert(Fixtures.path("model_a/checkpoint"), QuantFormat.Q4, QuantFormat.NONE, file, null);
        Cli.Result r = Cli.run("", "info", "--model", file.toString(), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        JsonNode info = JSON.readTree(r.out());
        assertThat(info.get("config").get("num_layers").asInt()).isEqualTo(3);
        JsonNode w = info.get("weights");
        assertThat(w.get("format").asText()).isEqualTo("cglm");
        assertThat(w.get("quantization").asText()).isEqualTo("q4");
        assertThat(w.get("tensors").asInt()).isEqualTo(1 + 3 * 4);
        assertThat(w.get("dtypes").has("q4")).isTrue();
        assertThat(w.get("bytes").asLong()).isEqualTo(Files.size(file));
        assertThat(info.get("tokenizer").get("vocab_size").asInt()).isEqualTo(1644);
        Cli.Result text = Cli.run("", "info", "--model", file.toString());
        assertThat(text.out()).contains("quantization  q4", "weights       cglm, 1 file:");

        Cli.Result tok = Cli.run("{\"text\":\"你好\"}\n", "tokenize", "--model", file.toString(), "--json");
        assertThat(tok.status()).as(tok.err()).isZero();
        assertThat(tok.out()).startsWith("{\"ids\":[5,609],");
    }

    @Test
    void memoryEstimateOfTheRealModel() {
        MemoryEstimate m = MemoryEstimate.of(ChatGlmConfig.chatglm6b(), 2048, 8, KvCache.Precision.F32);
        assertThat(m.kvBytesPerToken()).isEqualTo(2L * 28 * 4096 * 4);            // 896 KiB
        assertThat(m.kvBytesAtMax()).isEqualTo(2048L * 2 * 28 * 4096 * 4);        // 1.75 GiB
        // x, queries/contexts, block outputs [2048, 4096] (96 MiB) + a q/k/v chunk (12 MiB) + the MLP chunk (8 MiB) …
        assertThat(m.workingBytes()).isBetween(110L << 20, 140L << 20);
        assertThat(m.suggestedXmx()).isEqualTo("-Xmx1g");                           // the cache is off-heap
        MemoryEstimate h = MemoryEstimate.of(ChatGlmConfig.chatglm6b(), 2048, 8, KvCache.Precision.F16);
        assertThat(h.kvBytesAtMax()).isEqualTo(m.kvBytesAtMax() / 2);
        // INT4 weights with an int4 lm_head (3.09 GB): the 2048-token chat budget of issue 11 is 4.5 GB
        assertThat(h.peakRssBytes(3_090_000_000L)).isBetween(4_000_000_000L, 4_700_000_000L);
    }
}
