package org.xenpci.armpci.smmu;

import org.xenpci.armpci.IommuContext;

import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.hw.InboundTranslation;
import org.xenpci.armpci.hw.InboundTranslator;
import org.xenpci.armpci.hw.IommuFault;
import org.xenpci.core.Domain;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.P2m;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.BackingMemory;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * One SMMUv3 (Arm IHI 0070) as hardware: a register frame on the physical address space, a
 * linear stream table indexed by stream ID, and stage-2 translation of every inbound request a
 * host bridge sends it ({@link InboundTranslator}). {@code Platform} builds one per
 * {@code arm,smmu-v3} node of the host DT and wires it to the host bridges whose
 * {@code iommu-map} names it; Xen's driver ({@link ArmSmmu}, {@link SmmuV3Driver}) finds it on
 * the bus at the node's {@code reg} address, as it finds an ITS.
 *
 * <p>What software sees: IDR0 (0x0) reads S2P with AArch64 tables, IDR1 (0x4) SIDSIZE =
 * {@value #SID_BITS} (QEMU's virt SMMUv3 reports 16), CR0 (0x20) / CR0ACK (0x24) SMMUEN. Other
 * registers read as zero and ignore writes: the driver programs the stream table through
 * {@link #install} / {@link #invalidate}, which stand for its STE writes plus CMD_CFGI_STE (the
 * queues are not modelled). An STE is either absent (C_BAD_STE), attached to a domain (stage 2 =
 * that domain's p2m, which Xen shares with the SMMU; the STE names the domain where real
 * hardware holds S2TTB and VMID) or aborting (Xen's {@code disable_bypass}).
 *
 * <p>While SMMUEN is clear (no driver took the SMMU, e.g. {@code iommu=off}) every request
 * bypasses translation (GBPA at reset: no abort): DMA goes 1:1 to the physical address space.
 *
 * <p>Each stream has a one-entry TLB: the window of the last stage-2 entry it hit, reused while
 * the p2m lookup returns that very entry (p2m entries are immutable, so the TLB cannot go stale),
 * so steady DMA allocates nothing.
 *
 * <p>Thread-safety: STE updates come from the driver under Xen's pcidevs lock; each STE and TLB
 * entry is published atomically ({@link AtomicReferenceArray}), so a translation (a device DMA,
 * any thread) sees an entry before or after an update, never half of it.
 */
public final class SmmuV3 implements InboundTranslator, MmioDevice {
    /** Stream ID width of the model (IDR1.SIDSIZE). */
    public static final int SID_BITS = 16;

    /** SMMU_IDR0: S2P (bit 0), TTF = AArch64 (bits 3:2 = 0b10). */
    static final int IDR0_VALUE = 1 | 2 << 2;
    private static final int REG_IDR0 = 0x0;
    private static final int REG_IDR1 = 0x4;
    private static final int REG_CR0 = 0x20;
    private static final int REG_CR0ACK = 0x24;
    private static final IommuFault[] HW_REASON = {IommuFault.BAD_STREAMID, IommuFault.BAD_STE,
        IommuFault.STREAM_DISABLED, IommuFault.TRANSLATION};

    private final String path;
    private final int phandle;
    private final long base;
    private final long size;
    private volatile PhysicalAddressSpace space;
    private volatile Trace trace;
    private volatile boolean enabled;
    private final AtomicReferenceArray<StreamTableEntry> streamTable = new AtomicReferenceArray<>(1 << SID_BITS);
    private final AtomicReferenceArray<Tlb> tlb = new AtomicReferenceArray<>(1 << SID_BITS);

    /** A TLB entry: the stage-2 entry hit and the window made of it. */
    private record Tlb(P2m.Entry entry, InboundTranslation.Window window) {
    }

    /**
     * An SMMUv3 described by the DT node at {@code path}.
     *
     * @param phandle the node's phandle (0 if it has none)
     * @param base machine address of the register frame
     * @param size bytes of the register frame (the node's first {@code reg} size)
     */
    public SmmuV3(String path, int phandle, long base, long size) {
        this.path = Objects.requireNonNull(path, "path");
        this.phandle = phandle;
        this.base = base;
        this.size = size;
    }

    /** Registers the register frame ({@code smmuv3@<base>}) on {@code space}. */
    public void attach(PhysicalAddressSpace space) {
        space.register("smmuv3@" + Long.toHexString(base), base, size, this);
        this.space = space;
    }

    /** Where DMA faults are traced (the driver sets Xen's trace when it takes the SMMU). */
    void trace(Trace t) {
        this.trace = t;
    }

    /** SMMU_CR0.SMMUEN: set by the driver when it takes the SMMU; translation starts. */
    void enable() {
        enabled = true;
    }

    /** True once SMMUEN is set. */
    public boolean enabled() {
        return enabled;
    }

    /** Absolute DT path, e.g. {@code /smmuv3@9050000}. */
    public String path() {
        return path;
    }

    /** The node's phandle (what {@code iommu-map} entries reference), or 0 if it has none. */
    public int phandle() {
        return phandle;
    }

    /** Machine address of the register frame (first {@code reg} entry). */
    public long base() {
        return base;
    }

    /** Stream ID width (IDR1.SIDSIZE), {@value #SID_BITS}. */
    public int sidBits() {
        return SID_BITS;
    }

    /** Whether {@code sid} fits the stream table ({@code arm_smmu_sid_in_range}). */
    public boolean sidInRange(long sid) {
        return sid >= 0 && sid < (1L << SID_BITS);
    }

    /** The valid STE for {@code sid}, if any. */
    public Optional<StreamTableEntry> entry(int sid) {
        return sidInRange(sid) ? Optional.ofNullable(streamTable.get(sid)) : Optional.empty();
    }

    /** The domain whose stage 2 translates {@code sid}; empty if no STE or it aborts. */
    public Optional<Domain> owner(int sid) {
        return entry(sid).map(StreamTableEntry::context);
    }

    /**
     * Translates one device access for inspection: stream {@code sid}, input address
     * {@code iova} (the device's DMA address = the owner's guest-physical address, stage 2
     * only). RAM and direct MMIO entries of the owner's p2m translate; trapped or unmapped
     * addresses fault (traced as a read). Unlike {@link #translate(int, long, boolean)} this
     * ignores SMMUEN and allocates its answer.
     *
     * @return the outcome; never throws for any sid/iova
     */
    public DmaTranslation translate(int sid, long iova) {
        StreamTableEntry ste = sidInRange(sid) ? streamTable.get(sid) : null;
        DmaTranslation.Reason why = reject(sid, ste);
        if (why != null) {
            return fault(sid, iova, ste, false, why);
        }
        P2m.Entry e = ste.context().p2m().lookup(iova);
        if (e instanceof P2m.Ram r) {
            long off = r.memOffset() + (iova - r.gpa());
            return new DmaTranslation.Ram(r.memory(), off, hostAddress(r.memory(), off));
        }
        if (e instanceof P2m.DirectMmio m) {
            return new DmaTranslation.Mmio(m.maddr() + (iova - m.gpa()));
        }
        return fault(sid, iova, ste, false, DmaTranslation.Reason.TRANSLATION);
    }

    /**
     * The hardware's translation of an inbound request (the host bridge's path): as
     * {@link #translate(int, long)}, but bypassing while SMMUEN is clear, answering with the
     * stage-2 entry's whole window and reusing it from the stream's TLB. Faults are traced with
     * their direction and allocate; a hit allocates nothing.
     */
    @Override
    public InboundTranslation translate(int sid, long iova, boolean write) {
        if (!enabled) {
            return InboundTranslation.Window.IDENTITY;
        }
        StreamTableEntry ste = sidInRange(sid) ? streamTable.get(sid) : null;
        DmaTranslation.Reason why = reject(sid, ste);
        if (why != null) {
            fault(sid, iova, ste, write, why);
            return new InboundTranslation.Fault(HW_REASON[why.ordinal()]);
        }
        P2m.Entry e = ste.context().p2m().lookup(iova);
        Tlb hit = tlb.get(sid);
        if (hit != null && hit.entry == e) {
            return hit.window;
        }
        InboundTranslation.Window w = InboundTranslation.Window.ofStage2(e);
        if (w == null) {
            // Emulated (trapped) regions have no stage-2 mapping: the device cannot reach them.
            fault(sid, iova, ste, write, DmaTranslation.Reason.TRANSLATION);
            return new InboundTranslation.Fault(IommuFault.TRANSLATION);
        }
        tlb.set(sid, new Tlb(e, w));
        return w;
    }

    /** Why the STE refuses every request, or null if it translates. */
    private DmaTranslation.Reason reject(int sid, StreamTableEntry ste) {
        if (!sidInRange(sid)) {
            return DmaTranslation.Reason.BAD_STREAMID;
        }
        if (ste == null) {
            return DmaTranslation.Reason.BAD_STE;
        }
        return ste.context() == null ? DmaTranslation.Reason.STREAM_DISABLED : null;
    }

    @Override
    public long read(long offset, int width) {
        if (width != 4 || (offset & 3) != 0) {
            return 0;
        }
        switch ((int) offset) {
            case REG_IDR0:
                return IDR0_VALUE;
            case REG_IDR1:
                return SID_BITS;
            case REG_CR0:
            case REG_CR0ACK:
                return enabled ? 1 : 0;
            default:
                return 0;
        }
    }

    @Override
    public void write(long offset, int width, long value) {
        // Registers written by software are not modelled (see the class comment).
    }

    /** Points the STE at {@code context} (null: abort). Caller holds the pcidevs lock. */
    void install(int sid, Pdev pdev, Domain context) {
        streamTable.set(sid, new StreamTableEntry(pdev, context));
        tlb.set(sid, null); // CMD_TLBI_S12_VMALL on a context change
        Trace trace = this.trace;
        if (trace != null && trace.enabled(TraceCategory.DEVICE)) {
            trace.emit(new SmmuEvents.SteChanged(context == null ? -1 : context.domid(), path, sid, true));
        }
    }

    /** Invalidates the STE (device removed). */
    void invalidate(int sid) {
        streamTable.set(sid, null);
        tlb.set(sid, null);
        Trace trace = this.trace;
        if (trace != null && trace.enabled(TraceCategory.DEVICE)) {
            trace.emit(new SmmuEvents.SteChanged(-1, path, sid, false));
        }
    }

    /** The machine address of {@code memory}+{@code off} if that memory is host RAM on the bus, else -1. */
    private long hostAddress(BackingMemory memory, long off) {
        PhysicalAddressSpace s = space;
        if (s != null) {
            for (PhysicalAddressSpace.Region r : s.regions()) {
                if (r.device() == memory) {
                    return r.base() + off;
                }
            }
        }
        return -1;
    }

    private DmaTranslation fault(int sid, long iova, StreamTableEntry ste, boolean write, DmaTranslation.Reason reason) {
        Trace trace = this.trace;
        if (trace != null && trace.enabled(TraceCategory.FAULT)) {
            Domain ctx = ste == null ? null : ste.context();
            trace.emit(new SmmuEvents.DmaFault(ctx == null ? -1 : ctx.domid(), ste == null ? null : ste.pdev().sbdf(),
                    path, sid, iova, write, reason));
        }
        return new DmaTranslation.Fault(sid, iova, reason);
    }

    /**
     * What this SMMU does with stream {@code sid} now: bypass while SMMUEN is clear, else its
     * STE's context, or abort (no STE, an aborting one, or a stream ID beyond the table).
     */
    public IommuContext streamContext(int sid) {
        if (!enabled()) {
            return new IommuContext.Bypass(path() + ": SMMUEN clear");
        }
        return owner(sid).<IommuContext>map(IommuContext.Translate::new).orElse(IommuContext.ABORT);
    }

    @Override
    public String toString() {
        return "SMMUv3[" + path + "]";
    }
}
