package org.xenpci.libxl.serve;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A minimal Java client of the protocol for the tests: raw frames, events collected. */
final class RawClient implements AutoCloseable {
    /** One frame as received. */
    record Frame(int type, int flags, int id, int status, ByteBuffer payload) {
        boolean error() {
            return (flags & Protocol.FLAG_ERROR) != 0;
        }

        /** The message of an error reply. */
        String message() {
            byte[] b = new byte[payload.remaining() - 4];
            payload.duplicate().position(4).get(b);
            return new String(b, StandardCharsets.UTF_8);
        }

        String text() {
            byte[] b = new byte[payload.remaining()];
            payload.duplicate().get(b);
            return new String(b, StandardCharsets.UTF_8);
        }
    }

    private final ReadableByteChannel in;
    private final WritableByteChannel out;
    private int nextId = 1;
    final List<Frame> events = new ArrayList<>();

    RawClient(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        this.in = ch;
        this.out = ch;
    }

    /** Over a child process's stdout (replies) and stdin (requests). */
    RawClient(ReadableByteChannel in, WritableByteChannel out) {
        this.in = in;
        this.out = out;
    }

    static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** HELLO with version 1.0 and every feature. */
    RawClient hello() throws IOException {
        Frame f = call(Protocol.HELLO, le(16).putInt(Protocol.MAGIC).putShort((short) 1).putShort((short) 0).putLong(3).flip());
        if (f.error()) {
            throw new IOException("HELLO refused: " + f.message());
        }
        return this;
    }

    Frame call(int type, ByteBuffer payload) throws IOException {
        int id = nextId++;
        sendRaw(type, 0, id, payload);
        return await(id);
    }

    Frame callJson(int type, String json) throws IOException {
        return call(type, ByteBuffer.wrap(json.getBytes(StandardCharsets.UTF_8)));
    }

    void sendRaw(int type, int flags, int id, ByteBuffer payload) throws IOException {
        ByteBuffer h = le(16).putInt(payload.remaining()).putShort((short) type).putShort((short) flags).putInt(id).putInt(0).flip();
        write(h);
        write(payload);
    }

    void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }

    Frame await(int id) throws IOException {
        while (true) {
            ByteBuffer h = read(16);
            int size = h.getInt(0);
            Frame f = new Frame(h.getShort(4) & 0xffff, h.getShort(6) & 0xffff, h.getInt(8), h.getInt(12), read(size));
            if ((f.flags() & Protocol.FLAG_EVENT) != 0) {
                events.add(f);
                continue;
            }
            if (f.id() != id) {
                throw new IOException("reply for " + f.id() + " while waiting for " + id);
            }
            return f;
        }
    }

    private ByteBuffer read(int n) throws IOException {
        ByteBuffer b = le(n);
        while (b.hasRemaining()) {
            if (in.read(b) < 0) {
                throw new IOException("closed");
            }
        }
        return b.flip();
    }

    Frame mmioRead(int domid, int vcpu, long addr, int width) throws IOException {
        return call(Protocol.MMIO_READ, le(16).putShort((short) domid).putShort((short) vcpu).put((byte) width)
                .put(new byte[3]).putLong(addr).flip());
    }

    Frame mmioWrite(int domid, int vcpu, long addr, int width, long data) throws IOException {
        return call(Protocol.MMIO_WRITE, le(24).putShort((short) domid).putShort((short) vcpu).put((byte) width)
                .put(new byte[3]).putLong(addr).putLong(data).flip());
    }

    @Override
    public void close() throws IOException {
        out.close();
        in.close();
    }
}
