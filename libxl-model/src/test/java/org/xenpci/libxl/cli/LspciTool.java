package org.xenpci.libxl.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs the real {@code /usr/bin/lspci -F FILE}: fails when it is missing and CI=true, else
 * skips the calling test with a visible message.
 */
final class LspciTool {
    private static final Path LSPCI = Path.of("/usr/bin/lspci");

    private LspciTool() {
    }

    static void requireLspci() {
        if (Files.isExecutable(LSPCI)) {
            return;
        }
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail("/usr/bin/lspci is required when CI=true (apt-get install pciutils)");
        }
        Assumptions.abort("SKIPPED: /usr/bin/lspci not installed (apt-get install pciutils)");
    }

    /** {@code lspci -F file args...}; stdout, asserting exit status 0. */
    static String run(Path file, String... args) throws IOException, InterruptedException {
        requireLspci();
        List<String> cmd = new ArrayList<>(List.of(LSPCI.toString(), "-F", file.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("lspci timed out");
        }
        if (p.exitValue() != 0) {
            fail("lspci exit " + p.exitValue() + " for " + cmd);
        }
        return out;
    }
}
