package org.xenpci.libxl.serve;

import static org.xenpci.libxl.serve.Protocol.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.cli.Reports;

/**
 * One connection: one driver (docs/simulator-protocol.md section 6). Reads a request, handles
 * it, writes the interrupt events it caused and then its reply; one request at a time. Not
 * thread-safe: one thread runs {@link #run}; only {@link #queueIrq} is called from others.
 *
 * <p>The data plane (MMIO, HVC, IRQ_ACK) decodes from and encodes into the session's reused
 * direct buffers and allocates nothing of its own on the way (a data abort builds its record).
 */
final class Session {
    private static final Logger LOG = LoggerFactory.getLogger(Session.class);
    private static final ObjectMapper M = new ObjectMapper();

    private final SimulatorHost sim;
    private final ReadableByteChannel in;
    private final WritableByteChannel out;
    private final Runnable shutdown;
    private final ByteBuffer header = ByteBuffer.allocateDirect(HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
    /** Bytes read from the connection and not yet consumed (read mode: position to limit). */
    private final ByteBuffer inbuf = ByteBuffer.allocateDirect(64 * 1024).limit(0);
    private ByteBuffer request = ByteBuffer.allocateDirect(4096).order(ByteOrder.LITTLE_ENDIAN);
    private ByteBuffer reply = ByteBuffer.allocateDirect(4096).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer event = ByteBuffer.allocateDirect(HEADER_SIZE + 8).order(ByteOrder.LITTLE_ENDIAN);
    private final ConcurrentLinkedQueue<long[]> irqs = new ConcurrentLinkedQueue<>();
    private boolean hello;
    private boolean stop;

    /**
     * @param shutdown what SHUTDOWN does after its reply is written (stops the server)
     */
    Session(SimulatorHost sim, ReadableByteChannel in, WritableByteChannel out, Runnable shutdown) {
        this.sim = sim;
        this.in = in;
        this.out = out;
        this.shutdown = shutdown;
    }

    /** Serves requests until the client closes the connection (or SHUTDOWN). */
    void run() throws IOException {
        try {
            while (!stop) {
                header.clear();
                if (!readFully(header, true)) {
                    return;
                }
                long size = header.getInt(0) & 0xffff_ffffL;
                int type = header.getShort(4) & 0xffff;
                int flags = header.getShort(6) & 0xffff;
                int id = header.getInt(8);
                reply.clear();
                reply.position(HEADER_SIZE);
                int status = 0;
                int replyFlags = FLAG_REPLY;
                try {
                    if (size > MAX_PAYLOAD) {
                        discard(size);
                        throw new RequestException(Errno.E2BIG, "frame of " + size + " bytes, at most " + MAX_PAYLOAD);
                    }
                    readPayload((int) size);
                    if (flags != 0) {
                        throw new RequestException(Errno.EINVAL, "request flags must be 0, not 0x" + Integer.toHexString(flags));
                    }
                    handle(type);
                } catch (RequestException e) {
                    status = e.errno().rc();
                    replyFlags |= FLAG_ERROR;
                    errorPayload(e.detail(), e.getMessage());
                } catch (RuntimeException e) {
                    // A model failure the request provoked (a bug, or input the model does not check):
                    // the client gets an error reply and the connection stays up.
                    LOG.warn("request 0x{} failed", Integer.toHexString(type), e);
                    status = Errno.EINVAL.rc();
                    replyFlags |= FLAG_ERROR;
                    errorPayload(0, "internal error: " + e);
                }
                flushEvents();
                int len = reply.position() - HEADER_SIZE;
                reply.putInt(0, len).putShort(4, (short) type).putShort(6, (short) replyFlags).putInt(8, id).putInt(12, status);
                reply.flip();
                writeFully(reply);
            }
        } finally {
            sim.removeListener(this);
        }
        if (stop) {
            shutdown.run();
        }
    }

    /** Another thread made an interrupt pending on a vCPU this session may care about. */
    void queueIrq(int domid, int vcpu, int intid) {
        irqs.add(new long[] {domid, vcpu, intid});
    }

    private void handle(int type) {
        if (!hello && type != HELLO) {
            throw new RequestException(Errno.EOPNOTSUPP, "HELLO first");
        }
        switch (type) {
            case HELLO: hello(); break;
            case PLATFORM_CREATE: json(sim.createPlatform(jsonRequest())); break;
            case GUEST_CREATE: json(sim.createGuest(jsonRequest())); break;
            case SCENARIO_LOAD: json(sim.loadScenario(jsonRequest())); break;
            case MMIO_READ: mmio(false); break;
            case MMIO_WRITE: mmio(true); break;
            case HVC: hvc(); break;
            case IRQ_ACK: irqAck(); break;
            case IRQ_PENDING: irqPending(); break;
            case PAUSE: sim.pause(domid()); break;
            case UNPAUSE: sim.unpause(domid()); break;
            case DESTROY: sim.destroy(domid()); break;
            case SNAPSHOT: json(sim.snapshot()); break;
            case DEVICE_SIGNAL: signal(); break;
            case SHUTDOWN: stop = true; break;
            default: throw new RequestException(Errno.ENOSYS, "unknown message type 0x" + Integer.toHexString(type));
        }
    }

    private void hello() {
        need(16, "HELLO");
        int magic = request.getInt(0);
        int major = request.getShort(4) & 0xffff;
        long features = request.getLong(8);
        if (magic != MAGIC) {
            throw new RequestException(Errno.EINVAL, "bad magic 0x" + Integer.toHexString(magic) + ", expected 0x"
                    + Integer.toHexString(MAGIC) + " (\"XPCI\")");
        }
        if (major != MAJOR) {
            throw new RequestException(Errno.EOPNOTSUPP, "protocol major " + major + " not supported: this server speaks "
                    + MAJOR + "." + MINOR);
        }
        long agreed = features & SERVER_FEATURES;
        if (!hello && (agreed & FEATURE_IRQ_EVENTS) != 0) {
            sim.addListener(this);
        }
        hello = true;
        reply.putInt(MAGIC).putShort((short) MAJOR).putShort((short) MINOR).putLong(agreed);
        bytes(("{\"server\":\"xenpci " + Reports.version() + "\",\"platform\":" + sim.hasPlatform() + "}")
                .getBytes(StandardCharsets.UTF_8));
    }

    private void mmio(boolean write) {
        need(write ? 24 : 16, write ? "MMIO_WRITE" : "MMIO_READ");
        Vcpu v = vcpu(request.getShort(0) & 0xffff, request.getShort(2) & 0xffff);
        int width = request.get(4) & 0xff;
        if (width != 1 && width != 2 && width != 4 && width != 8) {
            throw new RequestException(Errno.EINVAL, "width must be 1, 2, 4 or 8 bytes, not " + width);
        }
        long addr = request.getLong(8);
        long data = 0;
        Vcpu.DataAbort a;
        // Connections do not own vCPUs, but a vCPU runs on one thread at a time (core's trap
        // entry counts its traps without an atomic read-modify-write, see Vcpu), and the abort
        // an access took must reach the connection that made it: one access per vCPU at a time.
        synchronized (v) {
            if (write) {
                v.mmioWrite(addr, width, request.getLong(16));
            } else {
                data = v.mmioRead(addr, width);
            }
            a = v.takeDataAbort();
        }
        if (a == null) {
            reply.putInt(OUTCOME_DONE).putInt(0).putLong(data);
        } else {
            reply.putInt(OUTCOME_ABORT).putInt(a.retryable() ? 1 : 0).putLong(0);
            bytes(a.reason().getBytes(StandardCharsets.UTF_8));
        }
    }

    private void hvc() {
        need(64, "HVC");
        Vcpu v = vcpu(request.getShort(0) & 0xffff, request.getShort(2) & 0xffff);
        int imm = request.getInt(4);
        long x16 = request.getLong(8);
        if (imm != XEN_HYPERCALL_TAG) {
            // xen/arch/arm/traps.c: do_trap_hvc64 injects an undefined instruction for any other immediate.
            reply.putInt(OUTCOME_UNDEFINED).putInt(0);
            for (int i = 0; i < 6; i++) {
                reply.putLong(request.getLong(16 + 8 * i));
            }
            return;
        }
        long x0;
        if (x16 < 0 || x16 > Integer.MAX_VALUE) {
            x0 = Errno.ENOSYS.rc(); // do_trap_hypercall: a number past the table
        } else {
            HypercallResult r = v.domain().xen().hypercall(v, (int) x16, request.getLong(16), request.getLong(24),
                    request.getLong(32), request.getLong(40), request.getLong(48));
            x0 = r.rc();
        }
        reply.putInt(OUTCOME_DONE).putInt(0).putLong(x0);
        for (int i = 1; i < 6; i++) {
            reply.putLong(request.getLong(16 + 8 * i));
        }
    }

    private void irqAck() {
        need(8, "IRQ_ACK");
        Vcpu v = vcpu(request.getShort(0) & 0xffff, request.getShort(2) & 0xffff);
        reply.putInt(v.acknowledge(request.getInt(4)) ? 1 : 0);
    }

    private void irqPending() {
        need(4, "IRQ_PENDING");
        Vcpu v = vcpu(request.getShort(0) & 0xffff, request.getShort(2) & 0xffff);
        List<Integer> p = v.pendingInterrupts();
        ensureReply(4 + 4L * p.size());
        reply.putInt(p.size());
        for (int intid : p) {
            reply.putInt(intid);
        }
    }

    private void signal() {
        need(8, "DEVICE_SIGNAL");
        int seg = request.getShort(0) & 0xffff;
        int bus = request.get(2) & 0xff;
        int devfn = request.get(3) & 0xff;
        int vector = request.getInt(4);
        Sbdf sbdf = Sbdf.ofDevfn(seg, bus, devfn);
        PciFunction f = sim.host().platform().function(sbdf)
                .orElseThrow(() -> new RequestException(Errno.ENOENT, "no function at " + sbdf));
        SignalResult r = f.signal(vector);
        reply.putInt(r.ordinal());
        bytes(r.name().getBytes(StandardCharsets.US_ASCII));
    }

    private int domid() {
        need(2, "the request");
        return request.getShort(0) & 0xffff;
    }

    private Vcpu vcpu(int domid, int vcpu) {
        Domain d = sim.guest(domid);
        if (d == null) {
            throw new RequestException(Errno.ESRCH, "no guest d" + domid);
        }
        if (vcpu >= d.vcpus().size()) {
            throw new RequestException(Errno.ESRCH, d + " has no vCPU " + vcpu + " (it has " + d.vcpus().size() + ")");
        }
        return d.vcpu(vcpu);
    }

    private JsonNode jsonRequest() {
        if (request.limit() == 0) {
            return M.createObjectNode();
        }
        byte[] b = new byte[request.limit()];
        request.get(0, b);
        try {
            JsonNode n = M.readTree(b);
            if (n == null || !n.isObject()) {
                throw new RequestException(Errno.EINVAL, "the payload must be one JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new RequestException(Errno.EINVAL, "bad JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new RequestException(Errno.EINVAL, "bad JSON: " + e.getMessage());
        }
    }

    private void json(Object node) {
        try {
            bytes(M.writeValueAsBytes(node));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    private void need(int bytes, String what) {
        if (request.limit() < bytes) {
            throw new RequestException(Errno.EINVAL, what + " needs a payload of " + bytes + " bytes, got " + request.limit());
        }
    }

    private void errorPayload(int detail, String message) {
        reply.clear();
        reply.position(HEADER_SIZE);
        reply.putInt(detail);
        bytes(String.valueOf(message).getBytes(StandardCharsets.UTF_8));
    }

    private void bytes(byte[] b) {
        ensureReply(b.length);
        reply.put(b);
    }

    private void ensureReply(long more) {
        if (reply.remaining() < more) {
            ByteBuffer bigger = ByteBuffer.allocateDirect((int) Math.max(reply.capacity() * 2L, reply.position() + more))
                    .order(ByteOrder.LITTLE_ENDIAN);
            reply.flip();
            bigger.put(reply);
            reply = bigger;
        }
    }

    private void flushEvents() throws IOException {
        long[] e;
        while ((e = irqs.poll()) != null) {
            event.clear();
            event.putInt(8).putShort((short) IRQ_EVENT).putShort((short) FLAG_EVENT).putInt(0).putInt(0);
            event.putShort((short) e[0]).putShort((short) e[1]).putInt((int) e[2]);
            event.flip();
            writeFully(event);
        }
    }

    private void readPayload(int size) throws IOException {
        if (request.capacity() < size) {
            request = ByteBuffer.allocateDirect(Math.max(size, request.capacity() * 2)).order(ByteOrder.LITTLE_ENDIAN);
        }
        request.clear();
        request.limit(size);
        if (!readFully(request, false)) {
            throw new IOException("connection closed inside a frame");
        }
        request.position(0);
    }

    private void discard(long size) throws IOException {
        ByteBuffer scratch = ByteBuffer.allocate(65536);
        long left = size;
        while (left > 0) {
            scratch.clear();
            scratch.limit((int) Math.min(left, scratch.capacity()));
            if (!readFully(scratch, false)) {
                throw new IOException("connection closed inside a frame");
            }
            left -= scratch.limit();
        }
    }

    /**
     * Fills {@code b} from the connection through {@link #inbuf}, so that a client's request
     * (header and payload, or several pipelined ones) costs one read system call, not two.
     * False on end of stream before the first byte when {@code eofOk}; end of stream later is an
     * error.
     */
    private boolean readFully(ByteBuffer b, boolean eofOk) throws IOException {
        while (b.hasRemaining()) {
            if (!inbuf.hasRemaining()) {
                int n;
                if (b.remaining() >= inbuf.capacity()) {
                    n = in.read(b); // a large payload goes straight to its buffer
                } else {
                    inbuf.clear();
                    n = in.read(inbuf);
                    inbuf.flip();
                }
                if (n < 0) {
                    if (eofOk && b.position() == 0) {
                        return false;
                    }
                    throw new IOException("connection closed inside a frame");
                }
                continue;
            }
            int k = Math.min(b.remaining(), inbuf.remaining());
            int limit = inbuf.limit();
            inbuf.limit(inbuf.position() + k);
            b.put(inbuf);
            inbuf.limit(limit);
        }
        return true;
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }
}
