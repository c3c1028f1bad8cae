package org.chatglm4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The root {@code chatglm} command. THE place where subcommands are registered: add a class to
 * {@code subcommands} below (a class with a public constructor taking {@link CliContext}, or a no-argument one).
 */
@Command(name = "chatglm",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "ChatGLM-6B on the JVM: chat with the model, serve it over HTTP, run raw generations, "
                + "convert and quantize it, measure it, inspect its tokenizer, logits and weights.",
        synopsisSubcommandLabel = "COMMAND",
        subcommands = {
                ChatCommand.class,
                GenerateCommand.class,
                TokenizeCommand.class,
                LogitsCommand.class,
                InfoCommand.class,
                ConvertCommand.class,
                ServeCommand.class,
                BenchCommand.class,
                RandomCheckpointCommand.class,
                TrainCommand.class,
                EvalCommand.class,
                CommandLine.HelpCommand.class,
        },
        footer = {"", "Run 'chatglm COMMAND --help' for the options of a command.",
                "--model takes a local model folder or a Hugging Face repo id (default THUDM/chatglm-6b), "
                        + "downloaded into the Hugging Face cache (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT, HF_TOKEN, "
                        + "HF_HUB_OFFLINE are honoured)."})
public final class ChatglmCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        List<String> commands = new ArrayList<>(spec.subcommands().keySet());
        commands.remove("help");
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required ("
                + String.join(", ", commands) + ")");
    }
}
