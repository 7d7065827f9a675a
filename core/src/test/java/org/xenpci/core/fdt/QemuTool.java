package org.xenpci.core.fdt;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Dumps the device tree QEMU generates for its Arm {@code virt} machine
 * ({@code -machine virt,...,dumpdtb=FILE}), for tests against blobs built by libfdt rather than
 * dtc. When {@code qemu-system-aarch64} is missing a test is skipped with a message, except under
 * {@code CI=true}, where it fails (.ci/run installs Debian's qemu-system-arm).
 */
final class QemuTool {
    private static final Path QEMU = Path.of("/usr/bin/qemu-system-aarch64");

    private QemuTool() {
    }

    /**
     * Returns the DTB of {@code -machine <machine>,dumpdtb=...}.
     *
     * @param machine machine options, e.g. {@code virt,gic-version=3}
     */
    static byte[] dumpDtb(String machine) {
        if (!Files.isExecutable(QEMU)) {
            String missing = QEMU + " not installed (Debian package qemu-system-arm)";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                Assertions.fail(missing + "; CI=true requires the interop tests to run");
            }
            Assumptions.abort(missing + "; QEMU interop test skipped");
        }
        try {
            Path dir = Files.createTempDirectory("xenpci-qemu");
            Path dtb = dir.resolve("virt.dtb");
            try {
                Process p = new ProcessBuilder(List.of(QEMU.toString(), "-machine", machine + ",dumpdtb=" + dtb,
                        "-cpu", "cortex-a57", "-smp", "2", "-m", "1024", "-nographic", "-nodefaults"))
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                        .start();
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    Assertions.fail("qemu-system-aarch64 timed out");
                }
                Assertions.assertEquals(0, p.exitValue(), "qemu-system-aarch64 -machine " + machine);
                return Files.readAllBytes(dtb);
            } finally {
                Files.deleteIfExists(dtb);
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
