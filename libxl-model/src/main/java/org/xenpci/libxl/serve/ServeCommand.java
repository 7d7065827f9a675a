package org.xenpci.libxl.serve;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code xenpci serve --socket PATH | --tcp PORT | --stdio [--ram-dir DIR]}: serves the
 * simulator protocol (docs/simulator-protocol.md) until killed, until SHUTDOWN, or (stdio)
 * until stdin ends. One thread per connection; all connections share one
 * {@link SimulatorHost}. {@link #start} and {@link #close} let a test run it in process.
 */
public final class ServeCommand implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

    /** Where the server listens. */
    public sealed interface Transport permits UnixSocket, Tcp, Stdio {
    }

    /** A Unix domain socket at {@code path} (must not exist; removed at close). */
    public record UnixSocket(Path path) implements Transport {
    }

    /** Loopback TCP; port 0 picks a free one. */
    public record Tcp(int port) implements Transport {
    }

    /** One connection on the process's stdin and stdout. */
    public record Stdio() implements Transport {
    }

    private final SimulatorHost sim;
    private final Transport transport;
    private final Object lock = new Object();
    private ServerSocketChannel server;
    private SocketAddress bound;
    private Thread acceptor;
    private boolean closed;

    private ServeCommand(Transport transport, Path ramDir) {
        this.transport = transport;
        this.sim = new SimulatorHost(ramDir);
    }

    /**
     * Opens the listening socket and starts accepting in a background thread (socket
     * transports); the stdio transport is served by {@link #awaitTermination} on the caller.
     *
     * @param ramDir where guest RAM files go; null for the default (/dev/shm, else java.io.tmpdir)
     * @throws IOException if the socket cannot be opened
     */
    public static ServeCommand start(Transport transport, Path ramDir) throws IOException {
        ServeCommand s = new ServeCommand(Objects.requireNonNull(transport, "transport"),
                ramDir == null ? SharedRam.defaultDirectory() : ramDir);
        if (transport instanceof UnixSocket u) {
            ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                ch.bind(UnixDomainSocketAddress.of(u.path()));
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            s.listen(ch);
        } else if (transport instanceof Tcp t) {
            ServerSocketChannel ch = ServerSocketChannel.open();
            try {
                ch.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), t.port()));
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            s.listen(ch);
        }
        return s;
    }

    /** The address the server listens on (a Unix path or host:port); null for stdio. */
    public String address() {
        if (bound instanceof InetSocketAddress i) {
            return i.getAddress().getHostAddress() + ":" + i.getPort();
        }
        return bound == null ? null : bound.toString();
    }

    /** The shared state (tests reach the platform's hardware through it, as a test driver). */
    SimulatorHost simulator() {
        return sim;
    }

    /** The TCP port bound, or -1. */
    public int port() {
        return bound instanceof InetSocketAddress i ? i.getPort() : -1;
    }

    private void listen(ServerSocketChannel ch) throws IOException {
        server = ch;
        bound = ch.getLocalAddress();
        acceptor = new Thread(this::acceptLoop, "xenpci-serve-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void acceptLoop() {
        int n = 0;
        while (true) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.warn("accept failed: {}", e.getMessage());
                return;
            }
            if (transport instanceof Tcp) {
                try {
                    c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                } catch (IOException e) {
                    LOG.debug("TCP_NODELAY: {}", e.getMessage());
                }
            }
            Thread t = new Thread(() -> serve(c), "xenpci-serve-" + (++n));
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(SocketChannel c) {
        try (c) {
            new Session(sim, c, c, this::close).run();
        } catch (IOException e) {
            LOG.debug("connection ended: {}", e.getMessage());
        }
    }

    /** Blocks until the server is closed (SHUTDOWN, {@link #close}); serves stdio on this thread. */
    public void awaitTermination() throws IOException, InterruptedException {
        if (transport instanceof Stdio) {
            try {
                new Session(sim, new FileInputStream(FileDescriptor.in).getChannel(),
                        new FileOutputStream(FileDescriptor.out).getChannel(), () -> { }).run();
            } finally {
                close();
            }
            return;
        }
        synchronized (lock) {
            while (!closed) {
                lock.wait();
            }
        }
    }

    /** Stops accepting, removes the socket file and every guest RAM file. Idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            lock.notifyAll();
        }
        try {
            if (server != null) {
                server.close();
            }
            if (transport instanceof UnixSocket u) {
                Files.deleteIfExists(u.path());
            }
        } catch (IOException e) {
            LOG.warn("closing: {}", e.getMessage());
        }
        sim.close();
    }

    /**
     * The command line: {@code --socket PATH}, {@code --tcp PORT} or {@code --stdio}, and
     * {@code --ram-dir DIR}. Prints {@code xenpci serve: listening on ADDRESS} on {@code out}
     * once accepting (not with stdio, whose stdout is the protocol).
     *
     * @return the exit status
     */
    public static int run(Transport transport, Path ramDir, PrintStream out) throws IOException, InterruptedException {
        try (ServeCommand s = start(transport, ramDir)) {
            // Killed (SIGTERM, Ctrl-C): the RAM files and the socket go all the same.
            Thread cleanup = new Thread(s::close, "xenpci-serve-cleanup");
            Runtime.getRuntime().addShutdownHook(cleanup);
            try {
                if (!(transport instanceof Stdio)) {
                    out.println("xenpci serve: listening on " + s.address());
                    out.flush();
                }
                s.awaitTermination();
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(cleanup);
                } catch (IllegalStateException e) {
                    // The JVM is shutting down: the hook runs (close is idempotent).
                }
            }
        }
        return 0;
    }
}
