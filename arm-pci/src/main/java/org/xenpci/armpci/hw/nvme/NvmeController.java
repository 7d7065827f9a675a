package org.xenpci.armpci.hw.nvme;

import static org.xenpci.armpci.hw.nvme.NvmeRegisters.*;
import static org.xenpci.armpci.hw.nvme.NvmeStatus.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.hw.Capability;
import org.xenpci.armpci.hw.DeviceModel;
import org.xenpci.armpci.hw.DmaResult;
import org.xenpci.armpci.hw.HardwareConfigException;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.core.Hex;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.pci.PciRegs;

/**
 * An NVM Express controller (NVMe Base 1.4) behind BAR0 of a PCI function: the controller
 * registers and doorbells in BAR0 {@code [0, 0x2000)}, an admin queue, I/O queues and one
 * namespace ({@link NvmeNamespace}), with every queue-entry fetch, completion post and data
 * transfer issued as device DMA ({@link PciFunction#dmaRead}, {@link PciFunction#dmaWrite}),
 * so it goes through the host bridge's requester ID, {@code iommu-map} and IOMMU like any
 * device's. See docs/nvme.md for the registers, commands and statuses.
 *
 * <p>When commands run: a doorbell write processes the queues synchronously, in the writing
 * thread, before the write returns: every command submitted up to that tail completes (its
 * completion entry posted and its interrupt raised) unless its completion queue is full, in
 * which case the submission queue waits for a CQ head doorbell. If another thread is already
 * processing this controller at that moment, that thread picks the new tail up before it
 * returns, and the writer returns at once (hardware is asynchronous too; a single-threaded
 * driver sees fully synchronous behaviour).
 *
 * <p>DMA faults: a submission-entry fetch or a completion post that does not complete cannot
 * be reported in a completion queue, so the controller sets CSTS.CFS (Controller Fatal Status)
 * and stops processing until a reset (NVMe Base 1.4, 10.5; QEMU {@code hw/nvme/ctrl.c}
 * {@code nvme_process_sq} and {@code nvme_post_cqes} do the same). A PRP list or data transfer
 * that faults completes the command with Data Transfer Error ({@code nvme_map_prp}, {@code
 * nvme_tx}); a Write whose data faults leaves the namespace unchanged.
 *
 * <p>Interrupts: a completion on a queue with interrupts enabled signals its vector through
 * the function's MSI-X (or MSI) capability ({@link PciFunction#signal}), one message per
 * completion (no coalescing). With neither enabled the controller uses pin-based INTx (1.4,
 * 7.5.1): the line is asserted while any interrupt-enabled completion queue holds entries the
 * host has not consumed (head doorbell behind the controller's tail), INTMS bit 0 is clear and
 * COMMAND.INTX_DISABLE is clear; the model shows it in config STATUS.INTERRUPT and
 * {@link #intxAsserted()}. Delivering INTx to an interrupt controller is not modelled.
 *
 * <p>Thread-safety: all state is guarded by one lock per controller. Lock order is controller
 * lock, then the function's config-space lock (DMA and MSI-X take it); a Function Level Reset,
 * which runs under the config-space lock, therefore only records the reset
 * ({@link #functionReset}), applied at the controller's next access. A doorbell write never
 * blocks on the controller lock (it uses tryLock, see above), so two controllers that DMA into
 * each other's doorbells cannot deadlock. Register accesses other than doorbells wait for the
 * lock.
 */
public final class NvmeController implements MmioDevice, DeviceModel {
    private static final Logger LOG = LoggerFactory.getLogger(NvmeController.class);

    /** The register and doorbell region: BAR0 [0, 0x2000); the MSI-X table follows at 0x2000. */
    public static final int REGISTER_BYTES = 0x2000;
    /** I/O queue pairs supported (QEMU's default {@code max_ioqpairs}): queue IDs 1..64. */
    public static final int MAX_IO_QUEUES = 64;
    /** CAP.MQES: the largest queue is 2048 entries (MQES is 0's based). */
    public static final int MQES = 0x7ff;
    /** Identify Controller MDTS: 2^5 pages of CAP.MPSMIN (4 KiB), 128 KiB per command. */
    public static final int MDTS = 5;
    /** The largest transfer of one command, in bytes. */
    public static final int MAX_TRANSFER = 4096 << MDTS;
    /** Identify Controller ACL and AERL (0's based): 4 of each. */
    private static final int AERL = 3;
    private static final int ACL = 3;
    /** Version 1.4.0. */
    public static final int VERSION = 0x0001_0400;
    /**
     * CAP: MQES, CQR (contiguous queues required, bit 16), TO = 15 x 500 ms (bits 31:24),
     * DSTRD 0, CSS bit 37 (NVM command set), MPSMIN 0 (4 KiB, bits 51:48), MPSMAX 4 (64 KiB,
     * bits 55:52), as QEMU's {@code nvme_init_ctrl} sets them.
     */
    public static final long CAP_VALUE = MQES | 1L << 16 | 0x0fL << 24 | 1L << 37 | 0L << 48 | 4L << 52;

    private static final int QUEUES = MAX_IO_QUEUES + 1;
    private static final int NSID = 1;
    private static final int NO_COMPLETION = -1;

    private final PciFunction function;
    private final NvmeNamespace namespace;
    private final NvmeIdentity identity;
    private final int msixCap;
    private final int msiCap;
    private final int subsystemVendor;

    private final ReentrantLock lock = new ReentrantLock();
    /** Doorbell values written and not yet applied, by doorbell index; -1 = none. */
    private final AtomicIntegerArray doorbells = new AtomicIntegerArray(2 * QUEUES);
    /** Set by a doorbell write; a lock holder checks it after unlocking. */
    private volatile boolean rung;
    /** Set by an FLR ({@link #functionReset}); applied under the lock. */
    private volatile boolean resetPending;

    /* Registers (guarded by lock). */
    private int cc;
    private int csts;
    private int aqa;
    private long asq;
    private long acq;
    private int intMask;
    /** CC.MPS latched at enable: the memory page size in bytes. */
    private int pageSize = 4096;

    /* Queues by ID (guarded by lock); ID 0 is the admin queue pair. */
    private final boolean[] sqExists = new boolean[QUEUES];
    private final long[] sqBase = new long[QUEUES];
    private final int[] sqSize = new int[QUEUES];
    private final int[] sqHead = new int[QUEUES];
    private final int[] sqTail = new int[QUEUES];
    private final int[] sqCq = new int[QUEUES];
    private final boolean[] cqExists = new boolean[QUEUES];
    private final long[] cqBase = new long[QUEUES];
    private final int[] cqSize = new int[QUEUES];
    private final int[] cqHead = new int[QUEUES];
    private final int[] cqTail = new int[QUEUES];
    private final boolean[] cqPhase = new boolean[QUEUES];
    private final boolean[] cqIen = new boolean[QUEUES];
    private final int[] cqVector = new int[QUEUES];
    private final int[] cqSqs = new int[QUEUES];

    /** Number of Queues feature: I/O SQs and CQs allocated (1's based counts). */
    private int sqAllocated = MAX_IO_QUEUES;
    private int cqAllocated = MAX_IO_QUEUES;
    private int asyncEventsOutstanding;
    private boolean intx;

    /* Scratch (guarded by lock): one submission entry, one completion entry, PRP entry, data. */
    private final byte[] sqe = new byte[64];
    private final byte[] cqe = new byte[16];
    private final byte[] prpEntry = new byte[8];
    private byte[] data;
    /** Dword 0 of the completion being built. */
    private int result;

    private volatile DmaResult.Fault lastFault;
    private final AtomicLong commands = new AtomicLong();
    private final AtomicLong interrupts = new AtomicLong();

    private NvmeController(PciFunction function, NvmeNamespace namespace, NvmeIdentity identity) {
        this.function = function;
        this.namespace = namespace;
        this.identity = identity;
        this.msixCap = function.capability(PciRegs.PCI_CAP_ID_MSIX, false).map(Capability::offset).orElse(-1);
        this.msiCap = function.capability(PciRegs.PCI_CAP_ID_MSI, false).map(Capability::offset).orElse(-1);
        this.subsystemVendor = function.config().read(PciRegs.PCI_SUBSYSTEM_VENDOR_ID, 2);
        for (int i = 0; i < doorbells.length(); i++) {
            doorbells.set(i, -1);
        }
    }

    /**
     * Installs an NVMe controller over BAR0 {@code [0, 0x2000)} of {@code function} (a memory
     * BAR of at least 16 KiB whose MSI-X table, if any, lies at or above 0x2000, as in
     * {@link org.xenpci.armpci.hw.DeviceCatalog#QEMU_NVME}), with {@code namespace} as
     * namespace 1. Call while building, before the function is reachable on a bus.
     *
     * @throws HardwareConfigException if BAR0 is missing, too small, or already overlaid there,
     *         or the function already has a device model
     */
    public static NvmeController install(PciFunction function, NvmeNamespace namespace, NvmeIdentity identity) {
        Objects.requireNonNull(function, "function");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(identity, "identity");
        long size = function.bar(0).orElseThrow(() -> new HardwareConfigException(function + ": an NVMe controller needs BAR0"))
                .size();
        if (size < 0x4000) {
            throw new HardwareConfigException(function + ": NVMe BAR0 of " + Hex.of(size) + " bytes, need at least 0x4000");
        }
        NvmeController c = new NvmeController(function, namespace, identity);
        function.overlay(0, 0, REGISTER_BYTES, c);
        function.installDeviceModel(c);
        return c;
    }

    /** The catalog's default: a 64 MiB RAM namespace and {@link NvmeIdentity#defaults()}. */
    public static NvmeController installDefault(PciFunction function) {
        return install(function, NvmeNamespace.ram((64L << 20) / NvmeNamespace.BLOCK_SIZE), NvmeIdentity.defaults());
    }

    /** The controller installed on {@code function}, if any. */
    public static Optional<NvmeController> of(PciFunction function) {
        return function.deviceModel(NvmeController.class);
    }

    /** The function whose DMA engine and interrupts the controller uses. */
    public PciFunction function() {
        return function;
    }

    /** Namespace 1. */
    public NvmeNamespace namespace() {
        return namespace;
    }

    /** The Identify Controller strings. */
    public NvmeIdentity identity() {
        return identity;
    }

    /** CSTS.RDY. */
    public boolean ready() {
        return (status() & CSTS_RDY) != 0;
    }

    /** CSTS.CFS: a queue DMA faulted and the controller stopped ({@link #lastFault()} says which). */
    public boolean fatal() {
        return (status() & CSTS_CFS) != 0;
    }

    /** The DMA fault that last failed a command or stopped the controller, if any. */
    public Optional<DmaResult.Fault> lastFault() {
        return Optional.ofNullable(lastFault);
    }

    /** Commands completed (or accepted, for Asynchronous Event Requests) since the controller was built. */
    public long commandsProcessed() {
        return commands.get();
    }

    /** MSI-X / MSI messages the controller asked the function to signal since it was built. */
    public long interruptsSignalled() {
        return interrupts.get();
    }

    /** True while the pin-based interrupt would be asserted (see the class comment). */
    public boolean intxAsserted() {
        lock.lock();
        try {
            applyPendingReset();
            return intx;
        } finally {
            release();
        }
    }

    private int status() {
        lock.lock();
        try {
            applyPendingReset();
            return csts;
        } finally {
            release();
        }
    }

    /* ---------------- reset ---------------- */

    @Override
    public void functionReset() {
        // Runs under the config-space lock: must not take ours (see the class comment).
        resetPending = true;
    }

    private void applyPendingReset() {
        if (resetPending) {
            resetPending = false;
            controllerReset();
            cc = 0;
            csts = 0;
            aqa = 0;
            asq = 0;
            acq = 0;
            intMask = 0;
            intx = false;
            for (int i = 0; i < doorbells.length(); i++) {
                doorbells.set(i, -1);
            }
        }
    }

    /** CC.EN 1 to 0 (1.4, 7.3.2): queues deleted, outstanding AERs dropped; AQA, ASQ, ACQ kept. */
    private void controllerReset() {
        Arrays.fill(sqExists, false);
        Arrays.fill(cqExists, false);
        Arrays.fill(cqSqs, 0);
        sqAllocated = MAX_IO_QUEUES;
        cqAllocated = MAX_IO_QUEUES;
        asyncEventsOutstanding = 0;
        csts = 0;
        updateIntx();
    }

    /* ---------------- register access ---------------- */

    @Override
    public long read(long offset, int size) {
        if (offset >= DOORBELLS) {
            return 0; // doorbells are write-only; QEMU's nvme_mmio_read returns 0 too
        }
        lock.lock();
        try {
            applyPendingReset();
            int base = (int) offset & ~3;
            long v = Integer.toUnsignedLong(register(base)) | (long) register(base + 4) << 32;
            v >>>= 8 * (offset & 3);
            return size >= 8 ? v : v & ((1L << (8 * size)) - 1);
        } finally {
            release();
        }
    }

    private int register(int off) {
        switch (off) {
            case CAP:
                return (int) CAP_VALUE;
            case CAP + 4:
                return (int) (CAP_VALUE >>> 32);
            case VS:
                return VERSION;
            case INTMS:
            case INTMC:
                return intMask;
            case CC:
                return cc;
            case CSTS:
                return csts;
            case AQA:
                return aqa;
            case ASQ:
                return (int) asq;
            case ASQ + 4:
                return (int) (asq >>> 32);
            case ACQ:
                return (int) acq;
            case ACQ + 4:
                return (int) (acq >>> 32);
            default:
                return 0; // NSSR (unsupported), CMBLOC/CMBSZ (no CMB), reserved
        }
    }

    @Override
    public void write(long offset, int size, long value) {
        if (offset >= DOORBELLS) {
            if (size == 4 && (offset & 3) == 0) {
                doorbell((int) (offset - DOORBELLS) >>> 2, (int) value);
            }
            return; // other doorbell accesses are undefined (3.1.24): dropped
        }
        if ((size != 4 && size != 8) || (offset & (size - 1)) != 0) {
            return; // registers are written as aligned dwords or qwords (3.1)
        }
        lock.lock();
        try {
            applyPendingReset();
            writeRegister((int) offset, (int) value);
            if (size == 8) {
                writeRegister((int) offset + 4, (int) (value >>> 32));
            }
        } finally {
            release();
        }
    }

    private void writeRegister(int off, int v) {
        switch (off) {
            case INTMS:
                if (!messagesEnabled()) { // with MSI-X the host must not use it (3.1.3); ignored
                    intMask |= v;
                    updateIntx();
                }
                break;
            case INTMC:
                if (!messagesEnabled()) {
                    intMask &= ~v;
                    updateIntx();
                }
                break;
            case CC:
                writeCc(v);
                break;
            case AQA:
                aqa = v & 0x0fff_0fff;
                break;
            case ASQ:
                asq = asq & 0xffff_ffff_0000_0000L | Integer.toUnsignedLong(v) & ~0xfffL;
                break;
            case ASQ + 4:
                asq = asq & 0xffff_ffffL | (long) v << 32;
                break;
            case ACQ:
                acq = acq & 0xffff_ffff_0000_0000L | Integer.toUnsignedLong(v) & ~0xfffL;
                break;
            case ACQ + 4:
                acq = acq & 0xffff_ffffL | (long) v << 32;
                break;
            default:
                break; // CAP, VS, CSTS are read-only; NSSR unsupported; the rest reserved
        }
    }

    /** CC write: enable, reset and shutdown transitions as QEMU's {@code nvme_write_bar}. */
    private void writeCc(int v) {
        int old = cc;
        cc = v & 0x00ff_fff1;
        boolean wasEnabled = (old & CC_EN) != 0;
        boolean enable = (v & CC_EN) != 0;
        if (enable && !wasEnabled) {
            start();
        } else if (!enable && wasEnabled) {
            controllerReset();
        }
        int shn = v >>> CC_SHN_SHIFT & 3;
        int oldShn = old >>> CC_SHN_SHIFT & 3;
        if (shn != 0 && oldShn == 0) {
            csts |= CSTS_SHST_COMPLETE; // shutdown completes at once: nothing is in flight
        } else if (shn == 0 && oldShn != 0) {
            csts &= ~CSTS_SHST_COMPLETE;
        }
    }

    /**
     * CC.EN 0 to 1 (1.4, 7.6.1): the admin queues from AQA/ASQ/ACQ. An unusable configuration
     * (queue bases 0, a size of 1 entry, MPS outside CAP.MPSMIN..MPSMAX, a command set or
     * arbitration other than NVM / round robin) leaves RDY clear and sets CFS, as QEMU's
     * {@code nvme_start_ctrl} failing does.
     */
    private void start() {
        int mps = cc >>> CC_MPS_SHIFT & 0xf;
        int css = cc >>> CC_CSS_SHIFT & 0x7;
        int ams = cc >>> CC_AMS_SHIFT & 0x7;
        int asqs = aqa & 0xfff;
        int acqs = aqa >>> 16 & 0xfff;
        if (asq == 0 || acq == 0 || asqs == 0 || acqs == 0 || mps > 4 || css != 0 || ams != 0) {
            LOG.warn("{}: CC.EN with an unusable configuration (CC {} AQA {} ASQ {} ACQ {}): CSTS.CFS",
                    function, Hex.of(cc), Hex.of(aqa), Hex.of(asq), Hex.of(acq));
            csts |= CSTS_CFS;
            return;
        }
        pageSize = 4096 << mps;
        sqExists[0] = true;
        sqBase[0] = asq;
        sqSize[0] = asqs + 1;
        sqHead[0] = 0;
        sqTail[0] = 0;
        sqCq[0] = 0;
        createCq(0, acq, acqs + 1, true, 0);
        cqSqs[0] = 1;
        if (data == null) {
            data = new byte[MAX_TRANSFER];
        }
        csts = csts & ~CSTS_CFS | CSTS_RDY;
    }

    private void createCq(int q, long base, int size, boolean ien, int vector) {
        cqExists[q] = true;
        cqBase[q] = base;
        cqSize[q] = size;
        cqHead[q] = 0;
        cqTail[q] = 0;
        cqPhase[q] = true;
        cqIen[q] = ien;
        cqVector[q] = vector;
        cqSqs[q] = 0;
    }

    /* ---------------- doorbells and processing ---------------- */

    private void doorbell(int index, int value) {
        if (index >= doorbells.length()) {
            return; // a queue ID above MAX_IO_QUEUES: no such queue, write dropped
        }
        doorbells.set(index, value & 0xffff);
        rung = true;
        if (lock.isHeldByCurrentThread()) {
            return; // our own DMA rang it: the processing loop up the stack picks it up
        }
        kick();
    }

    /** Processes until no doorbell is left unapplied, unless another thread holds the lock. */
    private void kick() {
        while (lock.tryLock()) {
            try {
                applyPendingReset();
                process();
            } finally {
                lock.unlock();
            }
            if (!rung) {
                return;
            }
        }
    }

    /** Unlocks; if a doorbell was rung meanwhile (its writer could not get the lock), processes it. */
    private void release() {
        lock.unlock();
        if (rung && !lock.isHeldByCurrentThread()) {
            kick();
        }
    }

    private boolean running() {
        return (csts & (CSTS_RDY | CSTS_CFS)) == CSTS_RDY && !resetPending;
    }

    private void process() {
        do {
            rung = false;
            applyDoorbells();
            boolean progress = true;
            while (progress && running()) {
                progress = false;
                for (int q = 0; q < QUEUES && running(); q++) {
                    if (sqExists[q] && sqHead[q] != sqTail[q] && cqHasRoom(sqCq[q])) {
                        executeOne(q);
                        progress = true;
                    }
                }
                if (rung) {
                    rung = false;
                    applyDoorbells();
                    progress = true;
                }
            }
        } while (rung);
    }

    /**
     * Takes the doorbell values written since the last pass. A value beyond the queue's size,
     * or for a queue that does not exist, is dropped (1.4, 5.2.1 would report it as an
     * asynchronous event, which the model does not raise).
     */
    private void applyDoorbells() {
        boolean headMoved = false;
        for (int q = 0; q < QUEUES; q++) {
            int t = doorbells.getAndSet(2 * q, -1);
            if (t >= 0 && running() && sqExists[q] && t < sqSize[q]) {
                sqTail[q] = t;
            }
            int h = doorbells.getAndSet(2 * q + 1, -1);
            if (h >= 0 && running() && cqExists[q] && h < cqSize[q]) {
                cqHead[q] = h;
                headMoved = true;
            }
        }
        if (headMoved) {
            updateIntx();
        }
    }

    private boolean cqHasRoom(int c) {
        return cqExists[c] && (cqTail[c] + 1) % cqSize[c] != cqHead[c];
    }

    private void executeOne(int q) {
        long addr = sqBase[q] + (long) sqHead[q] * 64;
        DmaResult r = function.dmaRead(addr, sqe, 0, 64);
        if (r instanceof DmaResult.Fault f) {
            fatal(f, "fetching submission queue " + q + " entry " + sqHead[q]);
            return;
        }
        sqHead[q] = (sqHead[q] + 1) % sqSize[q];
        int cid = u16(sqe, 2);
        result = 0;
        int status = q == 0 ? admin() : io();
        commands.incrementAndGet();
        if (status != NO_COMPLETION && running()) {
            post(sqCq[q], q, cid, status);
        }
    }

    /** Posts a completion entry (1.4, 4.6): DW0 result, DW2 SQ head and ID, DW3 CID, phase, status. */
    private void post(int c, int sq, int cid, int status) {
        int t = cqTail[c];
        putInt(cqe, 0, result);
        putInt(cqe, 4, 0);
        putInt(cqe, 8, sqHead[sq] | sq << 16);
        putInt(cqe, 12, cid | (cqPhase[c] ? 1 << 16 : 0) | status << 17);
        // Beats go out in ascending address order: the phase tag in DW3 lands last.
        DmaResult r = function.dmaWrite(cqBase[c] + (long) t * 16, cqe, 0, 16);
        if (r instanceof DmaResult.Fault f) {
            fatal(f, "posting to completion queue " + c + " entry " + t);
            return;
        }
        if (++t == cqSize[c]) {
            t = 0;
            cqPhase[c] = !cqPhase[c];
        }
        cqTail[c] = t;
        if (cqIen[c]) {
            if (messagesEnabled()) {
                interrupts.incrementAndGet();
                SignalResult s = function.signal(cqVector[c]);
                if (s != SignalResult.SENT && s != SignalResult.PENDING && LOG.isDebugEnabled()) {
                    LOG.debug("{}: completion queue {} vector {}: {}", function, c, cqVector[c], s);
                }
            } else {
                updateIntx();
            }
        }
    }

    private void fatal(DmaResult.Fault f, String what) {
        lastFault = f;
        csts |= CSTS_CFS;
        LOG.warn("{}: DMA fault {}: {}; controller fatal status (CSTS.CFS) set", function, what, f);
    }

    private boolean messagesEnabled() {
        return msixCap >= 0 && (function.config().read(msixCap + PciRegs.PCI_MSIX_FLAGS, 2) & PciRegs.PCI_MSIX_FLAGS_ENABLE) != 0
                || msiCap >= 0 && (function.config().read(msiCap + PciRegs.PCI_MSI_FLAGS, 2) & PciRegs.PCI_MSI_FLAGS_ENABLE) != 0;
    }

    /** Pin-based interrupt state (1.4, 7.5.1), mirrored in config STATUS.INTERRUPT. */
    private void updateIntx() {
        boolean pending = false;
        for (int c = 0; c < QUEUES && !pending; c++) {
            pending = cqExists[c] && cqIen[c] && cqHead[c] != cqTail[c];
        }
        boolean asserted = pending && (intMask & 1) == 0 && !messagesEnabled()
                && (function.config().read(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_INTX_DISABLE) == 0;
        if (asserted != intx) {
            intx = asserted;
            if (asserted) {
                function.config().setBits(PciRegs.PCI_STATUS, 2, PciRegs.PCI_STATUS_INTERRUPT);
            } else {
                function.config().clearBits(PciRegs.PCI_STATUS, 2, PciRegs.PCI_STATUS_INTERRUPT);
            }
        }
    }

    /* ---------------- admin commands (1.4, 5) ---------------- */

    private int admin() {
        int opc = sqe[0] & 0xff;
        if ((sqe[1] & 0x03) != 0) {
            return INVALID_FIELD | DNR; // FUSES is 0: no fused operations
        }
        switch (opc) {
            case ADMIN_DELETE_SQ:
                return deleteSq(cdw(10) & 0xffff);
            case ADMIN_CREATE_SQ:
                return createSq();
            case ADMIN_GET_LOG_PAGE:
                return INVALID_LOG_PAGE | DNR; // no log page is modelled (docs/nvme.md)
            case ADMIN_DELETE_CQ:
                return deleteCq(cdw(10) & 0xffff);
            case ADMIN_CREATE_CQ:
                return createCq();
            case ADMIN_IDENTIFY:
                return identify();
            case ADMIN_ABORT:
                result = 1; // bit 0: not aborted; every command completes before the next is fetched
                return SUCCESS;
            case ADMIN_SET_FEATURES:
                return setFeatures();
            case ADMIN_GET_FEATURES:
                return getFeatures();
            case ADMIN_ASYNC_EVENT:
                if (asyncEventsOutstanding > AERL) {
                    return AER_LIMIT_EXCEEDED | DNR;
                }
                asyncEventsOutstanding++; // held until an event, which the model never raises
                return NO_COMPLETION;
            default:
                return INVALID_OPCODE | DNR;
        }
    }

    /** Create I/O Completion Queue (5.3); checks in QEMU's {@code nvme_create_cq} order. */
    private int createCq() {
        int qid = cdw(10) & 0xffff;
        int qsize = cdw(10) >>> 16;
        int flags = cdw(11) & 0xffff;
        int vector = cdw(11) >>> 16;
        long base = prp1();
        if (qid == 0 || qid > cqAllocated || cqExists[qid]) {
            return INVALID_QUEUE_ID | DNR;
        }
        if (qsize == 0 || qsize > MQES) {
            return INVALID_QUEUE_SIZE | DNR;
        }
        if ((flags & 1) == 0) {
            return INVALID_FIELD | DNR; // CAP.CQR: only physically contiguous queues
        }
        if (base == 0 || (base & (pageSize - 1)) != 0) {
            return INVALID_PRP_OFFSET | DNR;
        }
        if (vector >= msixEntries()) {
            return INVALID_INTERRUPT_VECTOR | DNR;
        }
        if ((cc >>> CC_IOCQES_SHIFT & 0xf) != 4) {
            return INVALID_FIELD | DNR; // CC.IOCQES must give 16-byte entries before I/O CQs exist
        }
        createCq(qid, base, qsize + 1, (flags & 2) != 0, vector);
        return SUCCESS;
    }

    /** Create I/O Submission Queue (5.4). */
    private int createSq() {
        int qid = cdw(10) & 0xffff;
        int qsize = cdw(10) >>> 16;
        int flags = cdw(11) & 0xffff;
        int cqid = cdw(11) >>> 16;
        long base = prp1();
        if (qid == 0 || qid > sqAllocated || sqExists[qid]) {
            return INVALID_QUEUE_ID | DNR;
        }
        if (cqid == 0 || cqid >= QUEUES || !cqExists[cqid]) {
            return CQ_INVALID | DNR;
        }
        if (qsize == 0 || qsize > MQES) {
            return INVALID_QUEUE_SIZE | DNR;
        }
        if ((flags & 1) == 0) {
            return INVALID_FIELD | DNR;
        }
        if (base == 0 || (base & (pageSize - 1)) != 0) {
            return INVALID_PRP_OFFSET | DNR;
        }
        if ((cc >>> CC_IOSQES_SHIFT & 0xf) != 6) {
            return INVALID_FIELD | DNR; // CC.IOSQES must give 64-byte entries
        }
        sqExists[qid] = true;
        sqBase[qid] = base;
        sqSize[qid] = qsize + 1;
        sqHead[qid] = 0;
        sqTail[qid] = 0;
        sqCq[qid] = cqid;
        cqSqs[cqid]++;
        return SUCCESS;
    }

    /** Delete I/O Submission Queue (5.6): nothing is outstanding, so nothing needs aborting. */
    private int deleteSq(int qid) {
        if (qid == 0 || qid >= QUEUES || !sqExists[qid]) {
            return INVALID_QUEUE_ID | DNR;
        }
        sqExists[qid] = false;
        cqSqs[sqCq[qid]]--;
        doorbells.set(2 * qid, -1);
        return SUCCESS;
    }

    /** Delete I/O Completion Queue (5.5): refused while a submission queue still uses it. */
    private int deleteCq(int qid) {
        if (qid == 0 || qid >= QUEUES || !cqExists[qid]) {
            return INVALID_QUEUE_ID | DNR;
        }
        if (cqSqs[qid] > 0) {
            return INVALID_QUEUE_DELETION | DNR;
        }
        cqExists[qid] = false;
        doorbells.set(2 * qid + 1, -1);
        updateIntx();
        return SUCCESS;
    }

    private boolean anyIoQueue() {
        for (int q = 1; q < QUEUES; q++) {
            if (sqExists[q] || cqExists[q]) {
                return true;
            }
        }
        return false;
    }

    /** Set Features (5.21): Number of Queues only. */
    private int setFeatures() {
        int fid = cdw(10) & 0xff;
        boolean save = cdw(10) < 0;
        if (fid != FEAT_NUM_QUEUES) {
            return INVALID_FIELD | DNR;
        }
        if (save) {
            return FEATURE_NOT_SAVEABLE | DNR;
        }
        int nsqr = cdw(11) & 0xffff;
        int ncqr = cdw(11) >>> 16;
        if (nsqr == 0xffff || ncqr == 0xffff) {
            return INVALID_FIELD | DNR;
        }
        if (anyIoQueue()) {
            return COMMAND_SEQUENCE_ERROR | DNR; // 5.21.1.7: only before any I/O queue exists
        }
        sqAllocated = Math.min(nsqr + 1, MAX_IO_QUEUES);
        cqAllocated = Math.min(ncqr + 1, MAX_IO_QUEUES);
        result = sqAllocated - 1 | cqAllocated - 1 << 16;
        return SUCCESS;
    }

    /** Get Features (5.14): Number of Queues; SEL current, default, saved or supported capabilities. */
    private int getFeatures() {
        int fid = cdw(10) & 0xff;
        int sel = cdw(10) >>> 8 & 0x7;
        if (fid != FEAT_NUM_QUEUES || sel > 3) {
            return INVALID_FIELD | DNR;
        }
        if (sel == 3) {
            result = 0x4; // changeable, neither saveable nor namespace specific
        } else if (sel == 0) {
            result = sqAllocated - 1 | cqAllocated - 1 << 16;
        } else {
            result = MAX_IO_QUEUES - 1 | MAX_IO_QUEUES - 1 << 16;
        }
        return SUCCESS;
    }

    /** Identify (5.15): namespace (CNS 0), controller (1), active namespace list (2), descriptors (3). */
    private int identify() {
        int cns = cdw(10) & 0xff;
        int nsid = cdw(1);
        Arrays.fill(data, 0, 4096, (byte) 0);
        switch (cns) {
            case CNS_NAMESPACE:
                if (nsid != NSID) {
                    return INVALID_NAMESPACE | DNR; // NN is 1: no other valid NSID, no broadcast without NS management
                }
                identifyNamespace();
                break;
            case CNS_CONTROLLER:
                identifyController();
                break;
            case CNS_ACTIVE_NAMESPACES:
                if (nsid == 0xffff_fffe || nsid == 0xffff_ffff) {
                    return INVALID_NAMESPACE | DNR;
                }
                if (Integer.compareUnsigned(nsid, NSID) < 0) {
                    putInt(data, 0, NSID);
                }
                break;
            case CNS_NS_DESCRIPTORS:
                if (nsid != NSID) {
                    return INVALID_NAMESPACE | DNR;
                }
                data[0] = 2; // NIDT: NGUID
                data[1] = 16; // NIDL
                nguid(data, 4);
                break;
            default:
                return INVALID_FIELD | DNR;
        }
        return transfer(prp1(), prp2(), 4096, true);
    }

    private void identifyController() {
        putShort(data, 0, function.vendorId());
        putShort(data, 2, subsystemVendor);
        ascii(data, 4, 20, identity.serial());
        ascii(data, 24, 40, identity.model());
        ascii(data, 64, 8, identity.firmware());
        data[72] = 6; // RAB
        data[73] = 0x00; // IEEE OUI 52:54:00 (QEMU's), least significant byte first
        data[74] = 0x54;
        data[75] = 0x52;
        data[77] = MDTS;
        putInt(data, 80, VERSION);
        data[111] = 1; // CNTRLTYPE: I/O controller
        data[258] = ACL;
        data[259] = AERL;
        data[260] = 0x02; // FRMW: one firmware slot
        data[263] = 0; // NPSS: one power state
        putShort(data, 266, 0x157); // WCTEMP 343 K
        putShort(data, 268, 0x175); // CCTEMP 373 K
        data[512] = 0x66; // SQES: 64-byte entries
        data[513] = 0x44; // CQES: 16-byte entries
        putInt(data, 516, 1); // NN
        data[525] = 1; // VWC: a volatile write cache, so Flush means something
        byte[] nqn = ("nqn.2019-08.org.qemu:" + identity.serial()).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(nqn, 0, data, 768, nqn.length); // SUBNQN, NUL-terminated (the rest is 0)
        putShort(data, 2048, 2500); // PSD0 MP: 25 W
    }

    private void identifyNamespace() {
        long n = namespace.blocks();
        putLong(data, 0, n); // NSZE
        putLong(data, 8, n); // NCAP
        putLong(data, 16, n); // NUSE
        data[25] = 0; // NLBAF: one format
        data[26] = 0; // FLBAS: format 0, no metadata
        nguid(data, 104);
        System.arraycopy(data, 104, data, 120, 8); // EUI64 from the NGUID's first half
        putInt(data, 128, NvmeNamespace.BLOCK_SHIFT << 16); // LBAF0: MS 0, LBADS 9, RP 0
    }

    /** A stable 16-byte namespace GUID from the serial number. */
    private void nguid(byte[] into, int at) {
        byte[] s = identity.serial().getBytes(StandardCharsets.US_ASCII);
        long h = 0xcbf2_9ce4_8422_2325L;
        for (byte b : s) {
            h = (h ^ (b & 0xff)) * 0x100_0000_01b3L;
        }
        putLong(into, at, Long.reverseBytes(0x5254_00ff_fe00_0000L | NSID));
        putLong(into, at + 8, h);
    }

    /* ---------------- NVM commands (1.4 NVM command set, 6) ---------------- */

    private int io() {
        int opc = sqe[0] & 0xff;
        int nsid = cdw(1);
        if ((sqe[1] & 0x03) != 0) {
            return INVALID_FIELD | DNR;
        }
        switch (opc) {
            case NVM_FLUSH:
                if (nsid != NSID && nsid != 0xffff_ffff) {
                    return INVALID_NAMESPACE | DNR;
                }
                try {
                    namespace.flush();
                    return SUCCESS;
                } catch (IOException e) {
                    LOG.warn("{}: flush of {} failed: {}", function, namespace, e.toString());
                    return WRITE_FAULT;
                }
            case NVM_WRITE:
            case NVM_READ:
                return readWrite(opc == NVM_WRITE, nsid);
            default:
                return INVALID_OPCODE | DNR;
        }
    }

    private int readWrite(boolean write, int nsid) {
        if (nsid != NSID) {
            return INVALID_NAMESPACE | DNR;
        }
        if ((sqe[1] & 0xc0) != 0) {
            return INVALID_FIELD | DNR; // PSDT: SGLs are not supported (SGLS 0)
        }
        long slba = Integer.toUnsignedLong(cdw(10)) | (long) cdw(11) << 32;
        int nlb = (cdw(12) & 0xffff) + 1;
        int len = nlb << NvmeNamespace.BLOCK_SHIFT;
        if (len > MAX_TRANSFER) {
            return INVALID_FIELD | DNR; // beyond MDTS
        }
        if (!namespace.contains(slba, nlb)) {
            return LBA_OUT_OF_RANGE | DNR;
        }
        try {
            if (write) {
                int s = transfer(prp1(), prp2(), len, false);
                if (s != SUCCESS) {
                    return s; // nothing reached the namespace
                }
                namespace.write(slba, data, 0, len);
                return SUCCESS;
            }
            namespace.read(slba, data, 0, len);
        } catch (IOException e) {
            LOG.warn("{}: {} of {} blocks at {} on {} failed: {}", function, write ? "write" : "read", nlb, slba,
                    namespace, e.toString());
            return write ? WRITE_FAULT : UNRECOVERED_READ_ERROR;
        }
        return transfer(prp1(), prp2(), len, true);
    }

    /**
     * Moves {@code len} bytes between {@code data[0..len)} and host memory described by PRP1 and
     * PRP2 (1.4, 4.3): PRP1 may carry an offset (dword aligned); the rest is page by page, PRP2
     * being the second page if two suffice, else a PRP list whose last entry in each list page
     * points to the next list page when more entries follow.
     *
     * @param toHost true to write host memory (Read, Identify), false to read it (Write)
     */
    private int transfer(long prp1, long prp2, int len, boolean toHost) {
        long mask = pageSize - 1;
        if ((prp1 & 3) != 0) {
            return INVALID_PRP_OFFSET | DNR;
        }
        int first = (int) Math.min(len, pageSize - (prp1 & mask));
        int s = segment(prp1, 0, first, toHost);
        int pos = first;
        if (s != SUCCESS || pos == len) {
            return s;
        }
        if (len - pos <= pageSize) {
            if ((prp2 & mask) != 0) {
                return INVALID_PRP_OFFSET | DNR;
            }
            return segment(prp2, pos, len - pos, toHost);
        }
        long list = prp2;
        if ((list & 7) != 0) {
            return INVALID_PRP_OFFSET | DNR;
        }
        while (pos < len) {
            DmaResult r = function.dmaRead(list, prpEntry, 0, 8);
            if (r instanceof DmaResult.Fault f) {
                lastFault = f;
                return DATA_TRANSFER_ERROR;
            }
            long entry = getLong(prpEntry, 0);
            boolean lastInPage = ((list + 8) & mask) == 0;
            if (lastInPage && len - pos > pageSize) {
                if ((entry & 7) != 0) {
                    return INVALID_PRP_OFFSET | DNR;
                }
                list = entry; // chain to the next PRP list page
                continue;
            }
            if ((entry & mask) != 0) {
                return INVALID_PRP_OFFSET | DNR;
            }
            int n = Math.min(pageSize, len - pos);
            s = segment(entry, pos, n, toHost);
            if (s != SUCCESS) {
                return s;
            }
            pos += n;
            list += 8;
        }
        return SUCCESS;
    }

    private int segment(long addr, int pos, int n, boolean toHost) {
        DmaResult r = toHost ? function.dmaWrite(addr, data, pos, n) : function.dmaRead(addr, data, pos, n);
        if (r instanceof DmaResult.Fault f) {
            lastFault = f;
            return DATA_TRANSFER_ERROR;
        }
        return SUCCESS;
    }

    /* ---------------- little-endian helpers ---------------- */

    private int cdw(int n) {
        return getInt(sqe, 4 * n);
    }

    private long prp1() {
        return getLong(sqe, 24);
    }

    private long prp2() {
        return getLong(sqe, 32);
    }

    private static int u16(byte[] b, int at) {
        return b[at] & 0xff | (b[at + 1] & 0xff) << 8;
    }

    private static int getInt(byte[] b, int at) {
        return u16(b, at) | u16(b, at + 2) << 16;
    }

    private static long getLong(byte[] b, int at) {
        return Integer.toUnsignedLong(getInt(b, at)) | (long) getInt(b, at + 4) << 32;
    }

    private static void putShort(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }

    private static void putInt(byte[] b, int at, int v) {
        putShort(b, at, v);
        putShort(b, at + 2, v >>> 16);
    }

    private static void putLong(byte[] b, int at, long v) {
        putInt(b, at, (int) v);
        putInt(b, at + 4, (int) (v >>> 32));
    }

    private static void ascii(byte[] b, int at, int width, String s) {
        Arrays.fill(b, at, at + width, (byte) ' ');
        int n = Math.min(width, s.length());
        for (int i = 0; i < n; i++) {
            b[at + i] = (byte) s.charAt(i);
        }
    }

    private int msixEntries() {
        if (msixCap < 0) {
            return 1; // pin-based or MSI: vector 0 only
        }
        return (function.config().read(msixCap + PciRegs.PCI_MSIX_FLAGS, 2) & PciRegs.PCI_MSIX_FLAGS_QSIZE) + 1;
    }

    @Override
    public String toString() {
        return "NvmeController[" + function + ", " + namespace + "]";
    }
}
