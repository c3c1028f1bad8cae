package org.chatglm4j.cli;

import picocli.CommandLine;

import java.lang.reflect.Constructor;

/** Creates commands and mixins for picocli, handing the {@link CliContext} to those whose constructor takes it. */
final class CommandFactory implements CommandLine.IFactory {
    private final CliContext ctx;
    private final CommandLine.IFactory fallback = CommandLine.defaultFactory();

    CommandFactory(CliContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public <K> K create(Class<K> cls) throws Exception {
        Constructor<K> withContext;
        try {
            withContext = cls.getDeclaredConstructor(CliContext.class);
        } catch (NoSuchMethodException e) {
            return fallback.create(cls);
        }
        return withContext.newInstance(ctx);
    }
}
