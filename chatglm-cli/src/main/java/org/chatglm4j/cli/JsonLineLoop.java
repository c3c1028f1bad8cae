package org.chatglm4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.chatglm4j.ChatGlmException;

/**
 * The JSON-lines protocol of {@code chat --json} and {@code tokenize --json}: each input line is one JSON object
 * and gets exactly one output line, the result or {@code {"error": "..."}}; a failed line is also reported on
 * stderr, and processing goes on with the next line.
 */
final class JsonLineLoop {

    @FunctionalInterface
    interface Handler {
        /** The output object for one request; throws {@link Json.LineException} or ChatGlmException for bad input. */
        JsonNode handle(ObjectNode request);
    }

    private JsonLineLoop() {
    }

    /** Processes standard input to its end; returns how many lines failed. */
    static int run(CliContext ctx, Handler handler) {
        InputLines lines = new InputLines(ctx.in());
        int failed = 0;
        for (InputLines.Line line; (line = lines.next()) != null; ) {
            JsonNode result;
            try {
                if (line.tooLong()) throw new Json.LineException("line longer than " + InputLines.DEFAULT_MAX_CHARS
                        + " characters");
                result = handler.handle(Json.parseObject(line.text()));
            } catch (Json.LineException | ChatGlmException e) {
                failed++;
                String message = "line " + line.number() + ": " + ErrorReporter.oneLine(e.getMessage());
                Json.writeLine(ctx.out(), Json.error(message));
                ctx.err().println(ErrorReporter.PREFIX + message);
                ctx.err().flush();
                continue;
            }
            Json.writeLine(ctx.out(), result);
            if (ctx.out().checkError()) throw new ChatGlmException("standard output was closed");
        }
        return failed;
    }
}
