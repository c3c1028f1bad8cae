package org.chatglm4j.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

import org.chatglm4j.generate.GenerationConfig;
import org.chatglm4j.generate.SamplingSettings;

import java.util.Map;

/** Per-command defaults of the {@link SamplingOptions}, so each command's help shows its own. */
abstract class OptionDefaults implements CommandLine.IDefaultValueProvider {
    private final Map<String, String> values;

    OptionDefaults(Map<String, String> values) {
        this.values = values;
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        return arg instanceof OptionSpec o ? values.get(o.longestName()) : null;
    }

    static Map<String, String> of(GenerationConfig c) {
        SamplingSettings s = c.sampling();
        return Map.of("--max-length", Integer.toString(c.maxLength()), "--top-p", Double.toString(s.topP()),
                "--temperature", Double.toString(s.temperature()), "--top-k", Integer.toString(s.topK()),
                "--repetition-penalty", Double.toString(s.repetitionPenalty()), "--num-beams",
                Integer.toString(c.numBeams()), "--length-penalty", Double.toString(c.lengthPenalty()));
    }

    /** The reference chat()/stream_chat(): max_length 2048, do_sample with top_p 0.7, temperature 0.95, top_k 50. */
    static final class Chat extends OptionDefaults {
        Chat() {
            super(of(GenerationConfig.chatDefaults()));
        }
    }

    /**
     * The reference generate() with transformers' GenerationConfig defaults: greedy, max_length as chat's 2048,
     * and when sampling top_p 1.0, temperature 1.0, top_k 50.
     */
    static final class Generate extends OptionDefaults {
        Generate() {
            super(Map.of("--max-length", "2048", "--top-p", "1.0", "--temperature", "1.0", "--top-k", "50",
                    "--repetition-penalty", "1.0", "--num-beams", "1", "--length-penalty", "1.0"));
        }
    }
}
