package org.xenpci.libxl.serve;

/** The constants of protocol 1.0 (docs/simulator-protocol.md sections 2 and 4). */
final class Protocol {
    static final int MAGIC = 0x49435058; // "XPCI" little-endian
    static final int MAJOR = 1;
    static final int MINOR = 0;

    static final int HEADER_SIZE = 16;
    static final int MAX_PAYLOAD = 16 << 20;

    static final int FLAG_REPLY = 1;
    static final int FLAG_ERROR = 1 << 1;
    static final int FLAG_EVENT = 1 << 2;

    static final long FEATURE_IRQ_EVENTS = 1L;
    static final long FEATURE_SHARED_RAM = 1L << 1;
    static final long SERVER_FEATURES = FEATURE_IRQ_EVENTS | FEATURE_SHARED_RAM;

    static final int HELLO = 0x0001;
    static final int PLATFORM_CREATE = 0x0002;
    static final int GUEST_CREATE = 0x0003;
    static final int SCENARIO_LOAD = 0x0004;
    static final int MMIO_READ = 0x0010;
    static final int MMIO_WRITE = 0x0011;
    static final int HVC = 0x0012;
    static final int IRQ_ACK = 0x0013;
    static final int IRQ_PENDING = 0x0014;
    static final int PAUSE = 0x0020;
    static final int UNPAUSE = 0x0021;
    static final int DESTROY = 0x0022;
    static final int SNAPSHOT = 0x0023;
    static final int DEVICE_SIGNAL = 0x0030;
    static final int SHUTDOWN = 0x00FF;
    static final int IRQ_EVENT = 0x4001;

    /** MMIO reply outcomes. */
    static final int OUTCOME_DONE = 0;
    static final int OUTCOME_ABORT = 1;
    /** HVC reply outcome: the immediate is not Xen's, the guest takes an undefined instruction. */
    static final int OUTCOME_UNDEFINED = 2;

    /** Xen's HVC immediate (xen/include/public/arch-arm.h: XEN_HYPERCALL_TAG). */
    static final int XEN_HYPERCALL_TAG = 0xEA1;

    private Protocol() {
    }
}
