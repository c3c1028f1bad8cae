package org.chatglm4j.cglm;

import com.fasterxml.jackson.databind.JsonNode;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.quant.QuantFormat;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.chatglm4j.testing.Fixtures.ints;

/** The single-file format: a round trip in every weight format, and every way a file can be broken. */
class CglmTest {
    @TempDir
    Path dir;

    static final LoadOptions TWO = LoadOptions.defaults().withThreads(2);

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"none", "int8", "int4", "q8", "q4"})
    void convertedModelGeneratesExactlyLikeTheFolderLoadedTheSameWay(String format) {
        QuantFormat f = QuantFormat.parse(format);
        Path out = dir.resolve("model_a-" + format + ".cglm");
        CglmWriter.convert(Fixtures.path("model_a/checkpoint"), f, f == QuantFormat.NONE ? f : QuantFormat.Q8, out, null);
        assertThat(dir.resolve(out.getFileName() + ".part")).doesNotExist();
        JsonNode g = Fixtures.json("model_a/generate.json").get("generations").get(1);
        int[] ids = ints(g.get("input_ids"));
        GenerationConfig greedy = GenerationConfig.greedy(g.get("max_length").asInt());
        try (ChatGLM folder = ChatGLM.load(Fixtures.path("model_a/checkpoint"), TWO.withQuantize(f)
                .withEmbeddings(f == QuantFormat.NONE ? f : QuantFormat.Q8));
             ChatGLM file = ChatGLM.load(out, TWO)) {
            assertThat(file.generate(ids, greedy, null, null).generatedIds())
                    .containsExactly(folder.generate(ids, greedy, null, null).generatedIds());
            assertThat(file.tokenizer().encodeForModel("你好")).containsExactly(folder.tokenizer().encodeForModel("你好"));
            assertThat(file.model().weights().layers()[0].dense().weight().format())
                    .isEqualTo(f == QuantFormat.NONE ? "f16" : format);
            if (f == QuantFormat.NONE) {   // unquantized: the reference golden itself
                assertThat(file.generate(ids, greedy, null, null).generatedIds()).containsExactly(ints(g.get("generated_ids")));
            }
        }
        try (CglmModel m = CglmModel.open(out)) {
            m.verify();
            assertThat(m.quantization()).isEqualTo(format);
        }
    }

    Path converted() {
        Path out = dir.resolve("m.cglm");
        CglmWriter.convert(Fixtures.path("model_a/checkpoint"), QuantFormat.Q4, QuantFormat.NONE, out, null);
        return out;
    }

    static void flipByte(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x5A);
        }
    }

    @Test
    void corruptDataIsFoundByVerify() throws IOException {
        Path out = converted();
        // a byte inside the first tensor's data, found from the header
        byte[] bytes = Files.readAllBytes(out);
        long n = java.nio.ByteBuffer.wrap(bytes, 8, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode header = new com.fasterxml.jackson.databind.ObjectMapper().readTree(new String(bytes, 24, (int) n, "UTF-8"));
        JsonNode part = header.get("tensors").get(0).get("parts").get(0);
        flipByte(out, part.get("offset").asLong() + part.get("length").asLong() / 2);
        try (CglmModel m = CglmModel.open(out)) {
            assertThatThrownBy(m::verify).isInstanceOf(ChatGlmException.class)
                    .hasMessageStartingWith(out.toString()).hasMessageContaining("checksum mismatch");
        }
    }

    @Test
    void corruptHeaderIsRefusedAtLoad() throws IOException {
        Path out = converted();
        flipByte(out, 40);
        assertThatThrownBy(() -> CglmModel.open(out)).isInstanceOf(ChatGlmException.class)
                .hasMessage(out + ": header checksum mismatch (corrupt file)");
    }

    @Test
    void truncatedFileIsRefusedAtLoad() throws IOException {
        Path out = converted();
        try (RandomAccessFile f = new RandomAccessFile(out.toFile(), "rw")) {
            f.setLength(f.length() / 2);
        }
        assertThatThrownBy(() -> CglmModel.open(out)).isInstanceOf(ChatGlmException.class)
                .hasMessageStartingWith(out.toString()).hasMessageContaining("truncated or corrupt");
    }

    @Test
    void wrongMagicAndVersionAndTinyFiles() throws IOException {
        Path out = converted();
        Path other = dir.resolve("other.cglm");
        Files.write(other, "not a model at all, just text".getBytes());
        assertThatThrownBy(() -> CglmModel.open(other)).hasMessage(other + ": not a .cglm model (bad magic number)");
        Path tiny = dir.resolve("tiny.cglm");
        Files.write(tiny, new byte[]{'C', 'G'});
        assertThatThrownBy(() -> CglmModel.open(tiny)).hasMessageContaining("too short");
        flipByte(out, 4);   // the version → something else
        assertThatThrownBy(() -> CglmModel.open(out)).hasMessageContaining("format version")
                .hasMessageContaining("convert the model again");
        assertThatThrownBy(() -> CglmModel.open(dir.resolve("missing.cglm"))).hasMessageContaining("no such file");
    }

    @Test
    void loadOptionsThatWouldRequantizeAreRefused() {
        Path out = converted();
        assertThatThrownBy(() -> ChatGLM.load(out, TWO.withQuantize(QuantFormat.INT8)))
                .isInstanceOf(ChatGlmException.class).hasMessageContaining("convert again");
    }
}
