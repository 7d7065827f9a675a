package org.xenpci.libxl.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xenpci.libxl.serve.RawClient.Frame;

/**
 * The other two transports: loopback TCP (the Python example over {@code --tcp}) and
 * {@code --stdio} (a child process whose stdin and stdout carry the protocol, nothing else on
 * stdout, exit 0 and no RAM file left when stdin ends).
 */
class TransportsTest {
    @TempDir
    Path tmp;

    @Test
    void thePythonExampleOverTcp() throws Exception {
        Tools.require("python3");
        Path ram = Files.createDirectory(tmp.resolve("ram"));
        try (ServeCommand s = ServeCommand.start(new ServeCommand.Tcp(0), ram)) {
            assertThat(s.address()).startsWith("127.0.0.1:");
            String out = ClientExamplesTest.run(ClientExamplesTest.CLIENTS.resolve("python"),
                    List.of("python3", "example.py", "--tcp", Integer.toString(s.port())));
            assertThat(out).endsWith("example: OK\n");
        }
    }

    @Test
    @Timeout(120)
    void stdioServesAChildProcessUntilStdinEnds() throws Exception {
        Path ram = Files.createDirectory(tmp.resolve("ram"));
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cp = new ArrayList<>();
        for (String prop : new String[] {"jdk.module.path", "java.class.path"}) {
            String v = System.getProperty(prop);
            if (v != null && !v.isEmpty()) {
                cp.add(v);
            }
        }
        Process p = new ProcessBuilder(java, "-cp", String.join(File.pathSeparator, cp), "org.xenpci.libxl.cli.XenpciCli",
                "serve", "--stdio", "--ram-dir", ram.toString()).redirectError(tmp.resolve("stderr.txt").toFile()).start();
        try {
            java.io.OutputStream stdin = p.getOutputStream(); // buffered: flush each frame
            java.nio.channels.WritableByteChannel w = new java.nio.channels.WritableByteChannel() {
                private final java.nio.channels.WritableByteChannel ch = Channels.newChannel(stdin);

                @Override
                public int write(java.nio.ByteBuffer src) throws java.io.IOException {
                    int n = ch.write(src);
                    stdin.flush();
                    return n;
                }

                @Override
                public boolean isOpen() {
                    return ch.isOpen();
                }

                @Override
                public void close() throws java.io.IOException {
                    ch.close();
                }
            };
            RawClient c = new RawClient(Channels.newChannel(p.getInputStream()), w);
            c.hello();
            assertThat(c.callJson(Protocol.PLATFORM_CREATE, "{}").error()).isFalse();
            Frame g = c.callJson(Protocol.GUEST_CREATE,
                    "{\"config\":\"name = \\\"s\\\"\\nmemory = 64\\npci = [ \\\"0000:00:02.0\\\" ]\\n\"}");
            assertThat(g.error()).as(g.error() ? g.message() : "").isFalse();
            assertThat(files(ram)).isEqualTo(1);
            Frame r = c.mmioRead(1, 0, 0x10000000L, 4);
            assertThat(r.payload().getLong(8)).as("the NVMe's IDs (QEMU NVMe 1b36:0010)").isEqualTo(0x00101b36L);
            c.close();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(Files.readString(tmp.resolve("stderr.txt"))).isZero();
            assertThat(files(ram)).isZero();
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void theCommandLineWantsExactlyOneTransport() throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        org.xenpci.libxl.cli.XenpciCli cli = new org.xenpci.libxl.cli.XenpciCli(new java.io.PrintStream(out),
                new java.io.PrintStream(err));
        assertThat(cli.run("serve")).isEqualTo(2);
        assertThat(err.toString()).contains("serve needs exactly one of --socket PATH, --tcp PORT, --stdio");
        assertThat(cli.run("serve", "--stdio", "--tcp", "0")).isEqualTo(2);
        assertThat(cli.run("serve", "--tcp", "http")).isEqualTo(2);
        Path taken = Files.createFile(tmp.resolve("taken.sock"));
        err.reset();
        assertThat(cli.run("serve", "--socket", taken.toString())).isEqualTo(1);
        assertThat(err.toString()).startsWith("xenpci: serve: ");
        assertThat(Files.exists(taken)).as("someone else's file is left alone").isTrue();
        out.reset();
        assertThat(cli.run("serve", "--help")).isZero();
        assertThat(out.toString()).startsWith("usage: xenpci serve --socket PATH | --tcp PORT | --stdio");
    }

    private static long files(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }
}
