package org.xenpci.libxl.serve;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** External tools the client tests need: under CI=true a missing one fails, elsewhere the test skips visibly. */
final class Tools {
    private Tools() {
    }

    static void require(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return;
            }
        }
        String hint = tool.equals("cc") ? "apt-get install gcc" : "apt-get install " + tool;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            fail(tool + " is required when CI=true (" + hint + ")");
        }
        Assumptions.abort("SKIPPED: " + tool + " not on PATH (" + hint + ")");
    }
}
