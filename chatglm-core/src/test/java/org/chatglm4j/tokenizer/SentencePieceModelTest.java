package org.chatglm4j.tokenizer;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.chatglm4j.tokenizer.ModelProtoWriter.BYTE;
import static org.chatglm4j.tokenizer.ModelProtoWriter.CONTROL;
import static org.chatglm4j.tokenizer.ModelProtoWriter.NORMAL;
import static org.chatglm4j.tokenizer.ModelProtoWriter.UNKNOWN;
import static org.chatglm4j.tokenizer.ModelProtoWriter.USER_DEFINED;

/** Reading {@code ModelProto} files: the fixture models, and every kind of broken file. */
class SentencePieceModelTest {
    @TempDir
    Path tmp;

    static byte[] fixtureModel() throws IOException {
        return Files.readAllBytes(Fixtures.path("tokenizer_unigram/ice_text.model"));
    }

    private Path write(String name, byte[] content) throws IOException {
        Path p = tmp.resolve(name);
        Files.write(p, content);
        return p;
    }

    /** Loading must fail with a one-line ChatGlmException that names the file. */
    private void assertRejected(Path file, String... messageParts) {
        assertThatThrownBy(() -> SentencePieceModel.load(file))
                .isInstanceOf(ChatGlmException.class)
                .satisfies(e -> {
                    assertThat(e.getMessage()).contains(file.toString()).doesNotContain("\n");
                    for (String part : messageParts) assertThat(e.getMessage()).contains(part);
                });
    }

    @Test
    void readsTheFixtureModels() {
        SentencePieceModel uni = SentencePieceModel.load(Fixtures.path("tokenizer_unigram/ice_text.model"));
        assertThat(uni.size()).isEqualTo(1644);
        assertThat(uni.algorithm()).isEqualTo(SentencePieceModel.Algorithm.UNIGRAM);
        assertThat(uni.byteFallback()).isTrue();
        assertThat(uni.unkId()).isZero();
        assertThat(uni.piece(4)).isEqualTo("<n>");
        assertThat(uni.type(4)).isEqualTo(PieceType.USER_DEFINED);
        assertThat(uni.type(1301)).isEqualTo(PieceType.CONTROL);
        assertThat(uni.type(1388)).isEqualTo(PieceType.BYTE);
        assertThat(uni.normalizerSpec().name()).isEqualTo("nmt_nfkc");
        assertThat(uni.normalizerSpec().precompiledCharsmap()).hasSizeGreaterThan(100_000);
        assertThat(uni.normalizerSpec().addDummyPrefix()).isTrue();
        assertThat(uni.normalizerSpec().removeExtraWhitespaces()).isTrue();
        assertThat(uni.normalizerSpec().escapeWhitespaces()).isTrue();
        assertThat(uni.unkSurface()).isEqualTo(" \u2047 ");
        SentencePieceModel bpe = SentencePieceModel.load(Fixtures.path("tokenizer_bpe/ice_text.model"));
        assertThat(bpe.size()).isEqualTo(1544);
        assertThat(bpe.algorithm()).isEqualTo(SentencePieceModel.Algorithm.BPE);
    }

    @Test
    void piecesAndScoresMatchVocabTsv() throws IOException {
        for (String name : TokenizerGoldens.NAMES) {
            SentencePieceModel m = SentencePieceModel.load(Fixtures.path(name + "/ice_text.model"));
            var lines = Files.readAllLines(Fixtures.path(name + "/vocab.tsv"));
            assertThat(lines).hasSize(m.size() + 1);
            for (int id = 0; id < m.size(); id++) {
                String[] f = lines.get(id + 1).split("\t", -1);
                assertThat(Integer.parseInt(f[0])).isEqualTo(id);
                assertThat(m.piece(id)).as("%s piece %d", name, id).isEqualTo(f[1]);
                assertThat(m.type(id).name()).as("%s type %d", name, id).isEqualTo(f[2]);
                assertThat(m.score(id)).as("%s score %d", name, id).isEqualTo(Float.parseFloat(f[3]));
            }
        }
    }

    @Test
    void missingFile() {
        assertRejected(tmp.resolve("ice_text.model"), "no such file");
    }

    @Test
    void emptyFile() throws IOException {
        assertRejected(write("empty.model", new byte[0]), "empty");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 10, 1000, 20_000, 130_000, 259_000})
    void truncatedFile(int cut) throws IOException {
        byte[] full = fixtureModel();
        // each of these cuts falls inside a field (the last ones inside the normalizer's charsmap)
        assertRejected(write("truncated.model", Arrays.copyOf(full, full.length - cut)), "not a valid SentencePiece model");
    }

    @Test
    void truncatedAnywhereNeverFailsOtherwise() throws IOException {
        byte[] full = fixtureModel();
        for (int len = 1; len < full.length; len += 1553) {
            byte[] part = Arrays.copyOf(full, len);
            try {
                SentencePieceModel.parse(part, "part.model");
            } catch (ChatGlmException e) {
                assertThat(e.getMessage()).startsWith("part.model: ").doesNotContain("\n");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void randomBytes(long seed) throws IOException {
        byte[] junk = new byte[4096];
        new Random(seed).nextBytes(junk);
        assertRejected(write("random.model", junk));
    }

    @Test
    void lengthFieldPointingPastTheEnd() throws IOException {
        byte[] b = new ModelProtoWriter().raw((byte) 0x0A).rawVarint(1000).raw(new byte[]{1, 2, 3, 4, 5}).toBytes();
        assertRejected(write("past.model", b), "length 1000 runs past the end");
    }

    @Test
    void hugeLengthField() throws IOException {
        byte[] b = new ModelProtoWriter().raw((byte) 0x0A).rawVarint(Long.MAX_VALUE).toBytes();
        assertRejected(write("huge.model", b), "runs past the end");
    }

    @Test
    void overlongVarint() throws IOException {
        byte[] b = new byte[12];
        Arrays.fill(b, (byte) 0xFF);
        assertRejected(write("varint.model", b), "varint");
    }

    @Test
    void wrongWireTypeOfPieces() throws IOException {
        assertRejected(write("wire.model", new ModelProtoWriter().varint(1, 5).toBytes()), "wire type");
    }

    @Test
    void unknownFieldsAreSkipped() {
        byte[] b = new ModelProtoWriter()
                .varint(99, 7).bytes(98, new byte[]{1, 2}).fixed32(97, 0)
                .piece("<unk>", 0, UNKNOWN).piece("a", -1, NORMAL)
                .bytes(4, new ModelProtoWriter().bytes(1, new byte[0]).toBytes()) // self_test_data
                .trainerSpec(1, false).normalizerSpec("identity", null, true, true)
                .toBytes();
        SentencePieceModel m = SentencePieceModel.parse(b, "ok.model");
        assertThat(m.size()).isEqualTo(2);
        assertThat(new SentencePieceProcessor(m).encodeAsPieces("a a")).containsExactly("▁", "a", "▁", "a");
    }

    @Test
    void semanticErrorsAsSentencePieceReportsThem() throws IOException {
        assertRejected(write("nounk.model", new ModelProtoWriter().piece("a", 0, NORMAL).toBytes()), "no unknown piece");
        assertRejected(write("nopieces.model", new ModelProtoWriter().trainerSpec(1, false).toBytes()), "no pieces");
        assertRejected(write("dup.model", new ModelProtoWriter().piece("<unk>", 0, UNKNOWN).piece("a", 0, NORMAL)
                .piece("a", 0, USER_DEFINED).toBytes()), "defined twice");
        assertRejected(write("twounk.model", new ModelProtoWriter().piece("<unk>", 0, UNKNOWN)
                .piece("<unk2>", 0, UNKNOWN).toBytes()), "more than one unknown");
        assertRejected(write("emptypiece.model", new ModelProtoWriter().piece("<unk>", 0, UNKNOWN)
                .piece("", 0, NORMAL).toBytes()), "empty");
        assertRejected(write("byte.model", new ModelProtoWriter().piece("<unk>", 0, UNKNOWN)
                .piece("<0x41>", 0, BYTE).toBytes()), "byte_fallback is false");
        assertRejected(write("bytes.model", new ModelProtoWriter().piece("<unk>", 0, UNKNOWN)
                .piece("<0x41>", 0, BYTE).trainerSpec(1, true).toBytes()), "no piece <0x00>");
        assertRejected(write("badbyte.model", new ModelProtoWriter().piece("<unk>", 0, UNKNOWN)
                .piece("<0xZZ>", 0, BYTE).trainerSpec(1, true).toBytes()), "<0xZZ>");
        assertRejected(write("word.model", new ModelProtoWriter().piece("<unk>", 0, UNKNOWN)
                .trainerSpec(3, false).toBytes()), "WORD is not supported");
        byte[] invalidUtf8 = new ModelProtoWriter().piece("<unk>", 0, UNKNOWN)
                .message(1, new ModelProtoWriter().bytes(1, new byte[]{(byte) 0xC3})).toBytes();
        assertRejected(write("utf8.model", invalidUtf8), "not valid UTF-8");
    }

    @Test
    void sameStringAsReservedAndNormalPieceIsAllowedLikeSentencePiece() {
        byte[] b = new ModelProtoWriter().piece("<unk>", 0, UNKNOWN).piece("x", 0, CONTROL).piece("x", -1, NORMAL)
                .toBytes();
        SentencePieceProcessor sp = new SentencePieceProcessor(SentencePieceModel.parse(b, "m"));
        assertThat(sp.pieceToId("x")).isEqualTo(1); // reserved pieces are looked up first
        assertThat(sp.encodeAsIds("x")).containsExactly(0, 2); // "▁" unknown, then the normal "x"
        assertThat(sp.decodeIds(new int[]{2})).isEmpty(); // decoding looks the piece up again: control
    }

    @Test
    void brokenCharsmap() {
        byte[] tooBig = {(byte) 0xFF, (byte) 0xFF, 0, 0, 1, 2, 3, 4};
        byte[] model = new ModelProtoWriter().piece("<unk>", 0, UNKNOWN).piece("a", 0, NORMAL)
                .normalizerSpec("nmt_nfkc", tooBig, true, true).toBytes();
        assertThatThrownBy(() -> new SentencePieceProcessor(SentencePieceModel.parse(model, "cm.model")))
                .isInstanceOf(ChatGlmException.class).hasMessageContaining("cm.model").hasMessageContaining("charsmap");

        // A one-unit trie whose root offset points far outside the array: caught on use, not an index exception.
        int root = (0x3FFFFF << 10);
        byte[] outOfRange = {4, 0, 0, 0, (byte) root, (byte) (root >>> 8), (byte) (root >>> 16), (byte) (root >>> 24), 0};
        byte[] model2 = new ModelProtoWriter().piece("<unk>", 0, UNKNOWN).piece("a", 0, NORMAL)
                .normalizerSpec("nmt_nfkc", outOfRange, true, true).toBytes();
        SentencePieceProcessor sp = new SentencePieceProcessor(SentencePieceModel.parse(model2, "cm2.model"));
        assertThatThrownBy(() -> sp.encode("a")).isInstanceOf(ChatGlmException.class)
                .hasMessageContaining("cm2.model").hasMessageContaining("out of range");
    }

    @Test
    void identityNormalizationWithoutCharsmap() {
        byte[] b = new ModelProtoWriter().piece("<unk>", 0, UNKNOWN).piece("Ａ", -1, NORMAL).piece("▁", -1, NORMAL)
                .normalizerSpec("identity", null, false, false).toBytes();
        SentencePieceProcessor sp = new SentencePieceProcessor(SentencePieceModel.parse(b, "id.model"));
        // no NFKC: the full-width letter stays; no dummy prefix; spaces kept (escaped)
        assertThat(sp.encodeAsPieces("Ａ  Ａ")).containsExactly("Ａ", "▁", "▁", "Ａ");
        assertThat(sp.decodeIds(sp.encodeAsIds("Ａ  Ａ"))).isEqualTo("Ａ  Ａ");
    }

    @Test
    void unknownCharactersWithoutByteFallbackMergeIntoOnePiece() {
        byte[] b = new ModelProtoWriter().piece("<unk>", 0, UNKNOWN).piece("▁", -1, NORMAL).piece("a", -1, NORMAL)
                .toBytes();
        SentencePieceProcessor sp = new SentencePieceProcessor(SentencePieceModel.parse(b, "m"));
        assertThat(sp.encodeAsPieces("a€€a")).containsExactly("▁", "a", "€€", "a");
        assertThat(sp.encodeAsIds("a€€a")).containsExactly(1, 2, 0, 2);
        assertThat(sp.decodeIds(new int[]{1, 2, 0, 2})).isEqualTo("a \u2047 a");
    }
}
