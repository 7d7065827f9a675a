package org.xenpci.libxl.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped clients against a served xenpci: {@code clients/python/example.py} and
 * {@code clients/c/example.c} (compiled with {@code cc}) each create the default platform and a
 * guest with the e1000e, read its IDs through the guest's ECAM window, set up the vITS and an
 * MSI-X vector, fire it as the test driver and see the LPI's IRQ_EVENT (see the examples' own
 * checks; each exits non-zero at the first that fails). Under CI=true a missing python3 or cc
 * fails; elsewhere the test skips with a message.
 */
class ClientExamplesTest {
    static final Path CLIENTS = Path.of("..", "clients").toAbsolutePath().normalize();

    @TempDir
    Path tmp;
    Path ramDir;
    Path socket;
    ServeCommand server;

    @BeforeEach
    void start() throws IOException {
        ramDir = Files.createDirectory(tmp.resolve("ram"));
        socket = tmp.resolve("xenpci.sock");
        server = ServeCommand.start(new ServeCommand.UnixSocket(socket), ramDir);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    @Test
    void thePythonExampleDrivesAGuestAndSeesItsMsix() throws Exception {
        Tools.require("python3");
        String out = run(CLIENTS.resolve("python"), List.of("python3", "example.py", socket.toString()));
        assertThat(out).contains("example: config read of 00:00.0: vendor 8086 device 10d3")
                .contains("example: IRQ_EVENT: [IrqEvent(d1 v0 intid 8192)]").endsWith("example: OK\n");
        assertThat(ramFiles()).as("the example destroyed its guest: no RAM file left").isZero();
    }

    @Test
    void theCExampleDrivesAGuestAndSeesItsMsix() throws Exception {
        Tools.require("cc");
        Path exe = tmp.resolve("example");
        run(CLIENTS.resolve("c"), List.of("cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-o", exe.toString(),
                "example.c", "xenpci.c"));
        String out = run(CLIENTS.resolve("c"), List.of(exe.toString(), socket.toString()));
        assertThat(out).contains("example: config read: vendor 8086 device 10d3")
                .contains("example: IRQ_EVENT: LPI 8192 pending on vCPU 0").endsWith("example: OK\n");
        assertThat(ramFiles()).isZero();
    }

    private long ramFiles() throws IOException {
        try (Stream<Path> s = Files.list(ramDir)) {
            return s.count();
        }
    }

    /** Runs {@code cmd} in {@code dir}; its stdout+stderr, failing the test on a non-zero exit. */
    static String run(Path dir, List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] bytes = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(cmd + " timed out");
        }
        String out = new String(bytes, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            fail(cmd + " exited " + p.exitValue() + ":\n" + out);
        }
        return out;
    }
}
