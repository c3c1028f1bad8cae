package org.chatglm4j.cli;

import picocli.CommandLine;

/** {@code chatglm --version}: the version in the jar's manifest ("dev" when run from classes). */
final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Main.class.getPackage().getImplementationVersion();
        return new String[]{"chatglm4j " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
    }
}
