package org.xenpci.bench;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.xenpci.libxl.serve.ServeCommand;

/**
 * One simulator-protocol round trip (docs/simulator-protocol.md) from a Java client over a Unix
 * socket: an MMIO_READ of the guest's 00:00.0 vendor/device ID through its ECAM window (the
 * e1000e passed through, full profile), request written and reply read on the benchmark thread,
 * the server's session thread in between. The protocol cost without a Python client's own;
 * compare {@code clients/python/bench_roundtrip.py} and QEMU qtest (docs/benchmarks.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ServeRoundTripBenchmark {
    private Path dir;
    private ServeCommand server;
    private SocketChannel ch;
    private final ByteBuffer request = ByteBuffer.allocateDirect(32).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer reply = ByteBuffer.allocateDirect(32).order(ByteOrder.LITTLE_ENDIAN);

    @Setup(Level.Trial)
    public void serve() throws IOException {
        dir = Files.createTempDirectory("xenpci-bench");
        server = ServeCommand.start(new ServeCommand.UnixSocket(dir.resolve("s.sock")), dir);
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(dir.resolve("s.sock")));
        call(1, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(0x49435058).putShort((short) 1)
                .putShort((short) 0).putLong(0).flip());
        call(2, ByteBuffer.wrap("{}".getBytes(StandardCharsets.UTF_8)));
        String created = call(3, ByteBuffer.wrap(("{\"config\":\"name = \\\"bench\\\"\\nmemory = 64\\nvcpus = 1\\n"
                + "pci = [ \\\"0000:00:01.0\\\" ]\\n\"}").getBytes(StandardCharsets.UTF_8)));
        int domid = Integer.parseInt(created.replaceAll("(?s).*\"domid\":(\\d+).*", "$1"));
        request.putInt(16).putShort((short) 0x10).putShort((short) 0).putInt(7).putInt(0)
                .putShort((short) domid).putShort((short) 0).put((byte) 4).put(new byte[3]).putLong(0x10000000L).flip();
        if (mmioRead() != 0x10d38086L) {
            throw new IllegalStateException("unexpected vendor/device ID");
        }
    }

    /** A control-plane request: its reply payload as text. */
    private String call(int type, ByteBuffer payload) throws IOException {
        ByteBuffer h = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(payload.remaining())
                .putShort((short) type).putShort((short) 0).putInt(type).putInt(0).flip();
        while (h.hasRemaining() || payload.hasRemaining()) {
            ch.write(new ByteBuffer[] {h, payload});
        }
        ByteBuffer rh = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        while (rh.hasRemaining()) {
            ch.read(rh);
        }
        ByteBuffer p = ByteBuffer.allocate(rh.getInt(0));
        while (p.hasRemaining()) {
            ch.read(p);
        }
        if (rh.getInt(12) != 0) {
            throw new IllegalStateException("request " + type + " failed: " + new String(p.array(), StandardCharsets.UTF_8));
        }
        return new String(p.array(), StandardCharsets.UTF_8);
    }

    /** MMIO_READ of the guest's ECAM vendor/device register: one round trip. */
    @Benchmark
    public long mmioRead() throws IOException {
        request.rewind();
        while (request.hasRemaining()) {
            ch.write(request);
        }
        reply.clear();
        while (reply.hasRemaining()) {
            ch.read(reply);
        }
        return reply.getLong(24);
    }

    @TearDown(Level.Trial)
    public void stop() throws IOException {
        ch.close();
        server.close();
        Files.deleteIfExists(dir);
    }
}
