package org.chatglm4j.cli;

import org.chatglm4j.ChatGlmException;
import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.SamplingSettings;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.util.List;

/**
 * Length and sampling options shared by chat and generate. Their defaults differ per command (chat follows the
 * reference {@code chat()}, generate the reference {@code generate()}) and come from the command's
 * {@link picocli.CommandLine.IDefaultValueProvider}, so the help shows each command's own.
 */
public final class SamplingOptions {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Prompt plus reply, in tokens. Default: ${DEFAULT-VALUE}.")
    int maxLength;

    @Option(names = "--max-new-tokens", paramLabel = "N",
            description = "Reply length limit in tokens; overrides --max-length when given.")
    Integer maxNewTokens;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling threshold. Default: ${DEFAULT-VALUE}.")
    double topP;

    @Option(names = "--temperature", paramLabel = "T", description = "Sampling temperature. Default: ${DEFAULT-VALUE}.")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Sample among the K best tokens (0 = all). "
            + "Default: ${DEFAULT-VALUE}.")
    int topK;

    @Option(names = "--repetition-penalty", paramLabel = "X",
            description = "Penalty for tokens already in the text (1 = none). Default: ${DEFAULT-VALUE}.")
    double repetitionPenalty;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the sampler (reproducible replies).")
    Long seed;

    @Option(names = "--num-beams", paramLabel = "K", description = "Beam search with K beams (needs --greedy: "
            + "do_sample=False; beam sampling is not supported); 1 = no beam search. Default: ${DEFAULT-VALUE}.")
    int numBeams;

    @Option(names = "--length-penalty", paramLabel = "X", description = "Beam search: a finished reply scores "
            + "log-probability / length^X, length counting the prompt (> 0 favours longer replies). "
            + "Default: ${DEFAULT-VALUE}.")
    double lengthPenalty;

    @Option(names = "--early-stopping", description = "Beam search: stop as soon as K replies are finished "
            + "(default: when no running beam can beat them, as transformers 4.27.1 estimates it).")
    boolean earlyStopping;

    @ArgGroup(exclusive = true)
    Mode mode;

    static final class Mode {
        @Option(names = "--greedy", description = "Greedy decoding (do_sample=False): deterministic output.")
        boolean greedy;

        @Option(names = "--do-sample", description = "Sample with the temperature/top-k/top-p settings "
                + "(do_sample=True).")
        boolean sample;
    }

    /**
     * The generation config these options describe.
     *
     * @param sampleByDefault whether the command samples unless --greedy is given
     * @param stop            stop strings (may be empty)
     * @throws ParameterException for values the generator rejects (a usage error)
     */
    GenerationConfig toConfig(boolean sampleByDefault, List<String> stop) {
        boolean doSample = mode == null ? sampleByDefault : mode.sample;
        try {
            SamplingSettings s = new SamplingSettings(doSample, temperature, topK, topP, repetitionPenalty);
            GenerationConfig c = new GenerationConfig(maxLength, maxNewTokens == null ? 0 : maxNewTokens, s, seed,
                    stop, List.of(), numBeams, lengthPenalty, earlyStopping);
            c.checkBeamSearch();
            return c;
        } catch (ChatGlmException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }
}
