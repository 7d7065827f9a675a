package org.xenpci.libxl.serve;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs {@code tools/uboot-guest/uboot_harness.py} (docs/uboot-guest.md) against a server of
 * this JVM. Needs a python3 that can {@code import unicorn} (Debian's python3-unicorn, for
 * /usr/bin/python3, tried first) and Debian's u-boot-qemu: when either is missing the calling
 * test FAILS under CI=true and is skipped with a visible message elsewhere.
 */
final class UbootHarness {
    static final Path UBOOT = Path.of("/usr/lib/u-boot/qemu_arm64/u-boot.bin");
    private static final List<String> PYTHONS = List.of("/usr/bin/python3", "python3");

    private final String python;
    private final Path script;

    private UbootHarness(String python, Path script) {
        this.python = python;
        this.script = script;
    }

    /** tools/uboot-guest/uboot.cfg: the NVMe and the e1000e passed through, the vpl011. */
    Path guestConfig() {
        return script.resolveSibling("uboot.cfg");
    }

    /** The harness, or the test is failed (CI) / skipped (elsewhere) saying what is missing. */
    static UbootHarness require() {
        Path script = repositoryRoot().resolve("tools/uboot-guest/uboot_harness.py");
        if (!Files.isRegularFile(script)) {
            fail("missing " + script);
        }
        String python = PYTHONS.stream().filter(UbootHarness::importsUnicorn).findFirst().orElse(null);
        List<String> missing = new ArrayList<>();
        if (python == null) {
            missing.add("a python3 that can import unicorn (apt-get install python3-unicorn)");
        }
        if (!Files.isRegularFile(UBOOT)) {
            missing.add(UBOOT + " (apt-get install u-boot-qemu)");
        }
        if (!missing.isEmpty()) {
            String what = String.join(" and ", missing);
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail("the U-Boot guest test needs " + what + " when CI=true");
            }
            Assumptions.abort("SKIPPED: the U-Boot guest test needs " + what);
        }
        return new UbootHarness(python, script);
    }

    /**
     * Runs the harness's own unit tests ({@code tools/uboot-guest/test_uboot_harness.py}, no
     * unicorn needed) with the first python3 found; fails under CI=true without one.
     *
     * @return the unittest output (stderr)
     */
    static String runUnitTests() throws IOException, InterruptedException {
        Path dir = repositoryRoot().resolve("tools/uboot-guest");
        String python = PYTHONS.stream().filter(UbootHarness::runs).findFirst().orElse(null);
        if (python == null) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail("python3 is required when CI=true");
            }
            Assumptions.abort("SKIPPED: no python3");
        }
        ProcessBuilder pb = new ProcessBuilder(python, "-m", "unittest", "-v", "test_uboot_harness")
                .directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("the harness unit tests timed out");
        }
        if (p.exitValue() != 0) {
            fail("the harness unit tests failed:\n" + out);
        }
        return out;
    }

    private static boolean runs(String python) {
        return check(python, "import sys");
    }

    private static boolean importsUnicorn(String python) {
        return check(python, "import unicorn");
    }

    private static boolean check(String python, String code) {
        try {
            Process p = new ProcessBuilder(python, "-c", code).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false; // no such interpreter
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Path repositoryRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("tools/uboot-guest"))) {
            p = p.getParent();
        }
        if (p == null) {
            fail("tools/uboot-guest not found above " + Path.of("").toAbsolutePath());
        }
        return p;
    }

    /**
     * One run: connects to {@code socket} (a platform already created), creates the guest from
     * {@code config}, types {@code commands}; the result JSON (docs/uboot-guest.md).
     *
     * @param ramDump null, or {GPA, LENGTH, FILE} for the harness's --ram-dump
     */
    JsonNode run(Path socket, Path config, Path work, String[] ramDump, String... commands)
            throws IOException, InterruptedException {
        Path json = work.resolve("result.json");
        List<String> cmd = new ArrayList<>(List.of(python, script.toString(), "--socket", socket.toString(),
                "--no-platform", "--config", config.toString(), "--quiet", "--timeout", "60",
                "--json", json.toString()));
        if (ramDump != null) {
            cmd.add("--ram-dump");
            cmd.addAll(List.of(ramDump));
        }
        for (String c : commands) {
            cmd.add("--cmd");
            cmd.add(c);
        }
        Path log = work.resolve("harness.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("uboot_harness.py timed out; log:\n" + Files.readString(log, StandardCharsets.UTF_8));
        }
        if (!Files.exists(json)) {
            fail("uboot_harness.py exit " + p.exitValue() + " without a result; log:\n"
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
        return new ObjectMapper().readTree(json.toFile());
    }
}
