package org.chatglm4j.tokenizer;

import org.chatglm4j.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Load and encode speed at the real scale: a synthetic model laid out like ChatGLM-6B's ice_text.model (130k pieces,
 * the nmt_nfkc charsmap, user-defined whitespace pieces, 256 byte pieces), and long texts. The bounds are loose
 * (shared CI machines); the measured times are printed.
 */
class TokenizerPerformanceTest {
    @TempDir
    Path tmp;

    static byte[] syntheticModel(int normalPieces, int modelType) {
        byte[] charsmap = SentencePieceModel.load(Fixtures.path("tokenizer_unigram/ice_text.model"))
                .normalizerSpec().precompiledCharsmap();
        ModelProtoWriter w = new ModelProtoWriter();
        w.piece("<unk>", 0, ModelProtoWriter.UNKNOWN).piece("<s>", 0, ModelProtoWriter.CONTROL)
                .piece("</s>", 0, ModelProtoWriter.CONTROL).piece("<pad>", 0, ModelProtoWriter.CONTROL)
                .piece("<n>", 0, ModelProtoWriter.USER_DEFINED);
        Random rnd = new Random(7);
        Set<String> pieces = new LinkedHashSet<>();
        pieces.add("▁");
        for (char c = 0x21; c < 0x7F; c++) pieces.add(String.valueOf(c));
        for (char c = 0x4E00; c < 0x9FA5 && pieces.size() < normalPieces / 3; c++) pieces.add(String.valueOf(c));
        String letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        while (pieces.size() < normalPieces) {
            StringBuilder p = new StringBuilder(rnd.nextBoolean() ? "▁" : "");
            int len = 1 + rnd.nextInt(6);
            boolean cjk = rnd.nextInt(3) == 0;
            for (int i = 0; i < len; i++) {
                p.append(cjk ? (char) (0x4E00 + rnd.nextInt(3000)) : letters.charAt(rnd.nextInt(letters.length())));
            }
            pieces.add(p.toString());
        }
        float score = -1f;
        for (String p : pieces) {
            w.piece(p, score, ModelProtoWriter.NORMAL);
            score -= 1e-4f;
        }
        for (String c : new String[]{"[MASK]", "[gMASK]", "[sMASK]", "<unused_0>", "<sop>", "<eop>", "<ENC>", "<dBLOCK>"}) {
            w.piece(c, 0, ModelProtoWriter.CONTROL);
        }
        w.piece("<|tab|>", 0, ModelProtoWriter.USER_DEFINED);
        for (int k = 2; k <= 80; k++) w.piece("<|blank_" + k + "|>", 0, ModelProtoWriter.USER_DEFINED);
        w.bytePieces();
        return w.trainerSpec(modelType, true).normalizerSpec("nmt_nfkc", charsmap, true, true).toBytes();
    }

    @Test
    void loadsA130kPieceModelQuickly() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("big"));
        Files.write(dir.resolve("ice_text.model"), syntheticModel(130_000, 1));
        Files.copy(Fixtures.path("tokenizer_unigram/tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
        // Cold: the first load in this JVM for this size, as a CLI start sees it (class loading, interpreter).
        long cpu0 = cpuNanos();
        long wall0 = System.nanoTime();
        ChatGlmTokenizer tok = ChatGlmTokenizer.load(dir);
        long coldCpu = cpuNanos() - cpu0;
        long coldWall = System.nanoTime() - wall0;
        long warmCpu = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long t0 = cpuNanos();
            tok = ChatGlmTokenizer.load(dir);
            warmCpu = Math.min(warmCpu, cpuNanos() - t0);
        }
        System.out.printf("130k-piece model: first load %.0f ms CPU (%.0f ms wall), warm %.0f ms CPU%n",
                coldCpu / 1e6, coldWall / 1e6, warmCpu / 1e6);
        assertThat(tok.vocabSize()).isEqualTo(130_000 + 5 + 8 + 80 + 256);
        assertThat(tok.decodeForChat(tok.encode("你好 hello world\n  x"))).isEqualTo("你好 hello world\n  x");
        // CPU time of this thread, so that other processes on a busy machine do not make the test flaky
        assertThat(coldCpu / 1_000_000).as("first load, ms of CPU").isLessThan(1000);
        assertThat(warmCpu / 1_000_000).as("warm load, ms of CPU").isLessThan(1000);
    }

    static long cpuNanos() {
        return ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }

    @Test
    void encodingTimeGrowsLinearly() {
        for (int type : new int[]{1, 2}) {
            SentencePieceProcessor sp = new SentencePieceProcessor(SentencePieceModel.parse(syntheticModel(30_000, type), "m"));
            ChatGlmTokenizer tok = new ChatGlmTokenizer(sp, TokenizerConfig.defaults().withNumImageTokens(0));
            String unit = "ChatGLM-6B 是一个开源的、支持中英双语的对话语言模型，基于 General Language Model 架构。"
                    + "  It has 6.2 billion parameters; ＦＵＬＬ　ｗｉｄｔｈ 😀\n\tdef f(x):\n        return x\n";
            String small = unit.repeat(200);
            String large = unit.repeat(3200);
            for (int i = 0; i < 3; i++) tok.encode(small); // warm-up
            long tSmall = time(() -> tok.encode(small));
            long tLarge = time(() -> tok.encode(large));
            System.out.printf("model type %d: encode %d chars %.1f ms CPU, %d chars %.1f ms CPU%n", type, small.length(),
                    tSmall / 1e6, large.length(), tLarge / 1e6);
            // each unit ends with a newline, so the units are encoded independently of each other
            assertThat(tok.decode(tok.encode(large))).isEqualTo(tok.decode(tok.encode(unit)).repeat(3200));
            // 16× the text: linear is ~16×; quadratic would be ~256×
            assertThat(tLarge).as("16x longer text").isLessThan(Math.max(60 * tSmall, 2_000_000_000L));
        }
    }

    private static long time(Runnable r) {
        long best = Long.MAX_VALUE;
        for (int i = 0; i < 2; i++) {
            long t0 = cpuNanos();
            r.run();
            best = Math.min(best, cpuNanos() - t0);
        }
        return best;
    }
}
