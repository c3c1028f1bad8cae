package org.chatglm4j.cli;

import com.fasterxml.jackson.core.JsonGenerator;
import org.chatglm4j.ChatGlmException;
import org.chatglm4j.chat.ChatGLM;
import org.chatglm4j.model.Batch;
import org.chatglm4j.model.ChatGlmConfig;
import org.chatglm4j.model.ChatGlmModel;
import org.chatglm4j.model.KvCache;
import org.chatglm4j.model.PromptLayout;
import org.chatglm4j.model.AttentionMask;
import org.chatglm4j.tokenizer.ChatGlmTokenizer;
import org.chatglm4j.tokenizer.Glm2Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.IntFunction;
import java.util.concurrent.Callable;

/**
 * {@code chatglm logits}: the logits of every position of one prompt pass (what the model's forward returns for
 * {@code input_ids}), streamed row by row as the model produces them.
 */
@Command(name = "logits", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Logits of every position of one forward pass over token ids.",
        description = {"Runs one forward pass over the given token ids (positions and attention mask as the "
                + "reference builds them: the ids need a [gMASK] or [MASK] and a <sop>) and prints the logits of "
                + "every position.",
                "--json: {\"logits\": [[…], …]}, one row of vocab_size floats per position.",
                "Plain: per position the token, the argmax and the top-5 ids with their logits."})
public final class LogitsCommand implements Callable<Integer> {
    static final int TOP = 5;

    @Mixin
    ModelOptions model;

    @Mixin
    LoadTuning tuning;

    @Option(names = "--ids", required = true, paramLabel = "ID,ID,…", converter = TokenIds.Converter.class,
            description = "The token ids, e.g. 5,6,7,1301,1304 (see 'chatglm tokenize').")
    TokenIds tokenIds;

    @Option(names = "--ptuning", paramLabel = "DIR", description = "A P-Tuning v2 checkpoint folder to load on top.")
    Path ptuning;

    @Option(names = "--json", description = "Write JSON.")
    boolean json;

    private final CliContext ctx;

    public LogitsCommand(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public Integer call() {
        // logits are for checking exactness: a float32 cache unless told otherwise
        try (ChatGLM glm = ChatGLM.load(model.resolve(ctx), tuning.apply(model.loadOptions(ptuning), KvCache.Precision.F32));
             var cache = glm.model().newCache()) {
            ChatGlmModel m = glm.model();
            ChatGlmConfig cfg = m.config();
            int[] ids = tokenIds.values();
            TokenIds.checkRange(ids, cfg.vocabSize(), "--ids");
            Batch batch = new Batch();
            IntFunction<String> pieces;
            if (cfg.isGlm2()) {   // ChatGLM2/3: positions 0..n-1, causal mask, no special token needed
                int[] positions = new int[ids.length];
                for (int i = 0; i < ids.length; i++) positions[i] = i;
                batch.add(cache, ids, positions, null, AttentionMask.prompt(0), true);
                Glm2Tokenizer t = glm.glm2Tokenizer();
                pieces = id -> id < t.vocabSize() ? t.idToToken(id) : null;
            } else {
                PromptLayout layout = PromptLayout.of(ids, cfg);
                boolean twoD = cfg.positionEncoding2d();
                batch.add(cache, ids, layout.positions(ids.length, twoD),
                        twoD ? layout.blockPositions(ids.length) : null, layout.mask(), true);
                ChatGlmTokenizer t = glm.tokenizer();
                pieces = id -> id < t.vocabSize() ? t.idToPiece(id) : null;
            }
            RowWriter writer = json ? new JsonRows(ctx.out(), ctx.err()) : new TextRows(ctx.out(), pieces, ids);
            int vocab = cfg.vocabSize();
            int[] next = {0};
            long t0 = System.nanoTime();
            m.newRunner().forward(batch, (segment, index, logits, offset) -> {
                if (index != next[0]) throw new IllegalStateException("row " + index + " came before row " + next[0]);
                writer.row(index, logits, offset, vocab);
                next[0]++;
                if (ctx.out().checkError()) throw new ChatGlmException("standard output was closed");
            });
            writer.finish();
            model.note(ctx, String.format(Locale.ROOT, "%d positions in %.1f ms", ids.length,
                    (System.nanoTime() - t0) / 1e6));
        }
        return 0;
    }

    /** Receives the rows in position order. */
    interface RowWriter {
        void row(int position, float[] logits, int offset, int vocab);

        void finish();
    }

    /**
     * {@code {"logits":[[…],…]}}: floats as Jackson writes them (Float.toString's shortest round-trip decimals),
     * one row at a time so that a long prompt never becomes one giant string.
     */
    static final class JsonRows implements RowWriter {
        private final PrintStream out;
        private final PrintStream err;
        private final JsonGenerator gen;
        private long nonFinite;

        JsonRows(PrintStream out, PrintStream err) {
            this.out = out;
            this.err = err;
            try {
                this.gen = Json.MAPPER.getFactory().createGenerator(out);
                gen.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
                gen.writeStartObject();
                gen.writeFieldName("logits");
                gen.writeStartArray();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void row(int position, float[] logits, int offset, int vocab) {
            try {
                gen.writeStartArray();
                for (int i = 0; i < vocab; i++) {
                    float v = logits[offset + i];
                    if (Float.isFinite(v)) {
                        gen.writeNumber(v);
                    } else {
                        gen.writeNull();   // JSON has no NaN or infinity (the fixtures' convention too)
                        nonFinite++;
                    }
                }
                gen.writeEndArray();
                gen.flush();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void finish() {
            try {
                gen.writeEndArray();
                gen.writeEndObject();
                gen.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            out.println();
            out.flush();
            if (nonFinite > 0) {
                err.println("chatglm: warning: " + nonFinite + " logits were NaN or infinite (written as null)");
            }
        }
    }

    /** One readable line per position: the token, then the top-5 (the first being the argmax). */
    static final class TextRows implements RowWriter {
        private final PrintStream out;
        private final IntFunction<String> pieces;
        private final int[] ids;
        private final int[] top = new int[TOP];

        /** @param pieces an id's token, or null when the tokenizer has no such id */
        TextRows(PrintStream out, IntFunction<String> pieces, int[] ids) {
            this.out = out;
            this.pieces = pieces;
            this.ids = ids;
        }

        @Override
        public void row(int position, float[] logits, int offset, int vocab) {
            int k = topK(logits, offset, vocab, top);
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "%4d  %6d %-14s argmax %6d %-14s top%d:", position, ids[position],
                    piece(ids[position]), top[0], piece(top[0]), TOP));
            for (int i = 0; i < k; i++) {
                b.append(' ').append(top[i]).append('=').append(logits[offset + top[i]]);
            }
            out.println(b);
            out.flush();
        }

        private String piece(int id) {
            String p = pieces.apply(id);
            return p != null ? Json.MAPPER.getNodeFactory().textNode(p).toString() : "?";
        }

        @Override
        public void finish() {
            out.flush();
        }
    }

    /**
     * The indices of the {@code top.length} largest values, largest first (ties: the lower index first, as an argmax
     * picks); returns how many were found (fewer when the vocabulary is smaller).
     */
    static int topK(float[] v, int offset, int n, int[] top) {
        int k = 0;
        for (int i = 0; i < n; i++) {
            float x = v[offset + i];
            int at = k;
            while (at > 0 && greater(x, v[offset + top[at - 1]])) at--;
            if (at >= top.length) continue;
            int end = Math.min(k, top.length - 1);
            System.arraycopy(top, at, top, at + 1, end - at);
            top[at] = i;
            if (k < top.length) k++;
        }
        return k;
    }

    /** NaN sorts last so that it never hides a real maximum. */
    private static boolean greater(float a, float b) {
        return !Float.isNaN(a) && (Float.isNaN(b) || a > b);
    }
}
