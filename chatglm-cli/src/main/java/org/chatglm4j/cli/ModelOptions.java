package org.chatglm4j.cli;

import org.chatglm4j.chat.ChatFormatKind;
import org.chatglm4j.chat.LoadOptions;
import org.chatglm4j.hub.ModelLocator;
import org.chatglm4j.hub.TextProgressListener;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/** The options every model command shares: which model, which revision, how many threads, how chatty. */
public final class ModelOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "PATH_OR_REPO_ID", defaultValue = ModelLocator.DEFAULT_MODEL,
            description = "Model folder, or Hugging Face repo id (downloaded into the HF cache). "
                    + "Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--revision", paramLabel = "REV", defaultValue = ModelLocator.DEFAULT_REVISION,
            description = "Branch, tag or commit of a hub repo id. Default: ${DEFAULT-VALUE}.")
    String revision;

    private int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Compute threads. Default: the available processors.")
    void setThreads(int n) {
        if (n < 1) throw new ParameterException(spec.commandLine(), "--threads must be at least 1, got " + n);
        this.threads = n;
    }

    @Option(names = "--chat-format", paramLabel = "glm2|glm3",
            description = "ChatGLM2/3 family only: the chat format (role tokens, stops). Default: from the hub repo id "
                    + "or config.json's _name_or_path (chatglm3/glm3: glm3; chatglm2/glm2/codegeex2: glm2), else glm2.")
    String chatFormat;

    @Option(names = {"-v", "--verbose"}, description = "Print progress, timings and, on errors, stack traces.")
    boolean verbose;

    /** The local folder of the model, downloading it (progress on stderr) when a repo id is not cached yet. */
    public Path resolve(CliContext ctx) {
        TextProgressListener progress = new TextProgressListener(ctx.err(), ctx.stderrTerminal());
        return ModelLocator.resolve(model, revision, ctx.hubOptions(), progress);
    }

    /**
     * The chat format of a ChatGLM2/3 model resolved to {@code folder}: {@code --chat-format}, else the repo id
     * (when {@code --model} was not a local path), else the folder's config.
     */
    public ChatFormatKind.Decision chatFormat(Path folder) {
        return ChatFormatKind.decide(chatFormat, repoId(), folder);
    }

    public LoadOptions loadOptions(Path ptuning) {
        return LoadOptions.defaults().withThreads(threads).withPtuning(ptuning).withChatFormat(chatFormat)
                .withRepoId(repoId());
    }

    /** --model when it is not a local path (a hub repo id), else null. */
    String repoId() {
        try {
            return Files.exists(Path.of(model)) ? null : model;
        } catch (InvalidPathException e) {
            return model;
        }
    }

    public int threads() {
        return threads;
    }

    public boolean verbose() {
        return verbose;
    }

    /** A note on stderr when --verbose. */
    public void note(CliContext ctx, String text) {
        if (verbose) {
            ctx.err().println("chatglm: " + text);
            ctx.err().flush();
        }
    }
}
