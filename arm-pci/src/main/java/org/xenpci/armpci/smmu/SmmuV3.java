package org.xenpci.armpci.smmu;

import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.xenpci.armpci.Pdev;
import org.xenpci.core.Domain;
import org.xenpci.core.Hardware;
import org.xenpci.core.P2m;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * One SMMUv3 instance from the host device tree ({@code compatible = "arm,smmu-v3"}), as Xen's
 * driver programs it: stage-2 only, sharing each domain's p2m (xen/drivers/passthrough/arm/
 * smmu-v3.c), with a linear stream table indexed by stream ID.
 *
 * <p>The model has a fixed {@link #SID_BITS} of 16 (IDR1.SIDSIZE; QEMU's virt SMMUv3 reports
 * 16), so valid stream IDs are 0..0xffff. An STE is either absent (never added: C_BAD_STE),
 * attached to a domain (stage 2 = that domain's p2m), or aborting (detached, as Xen does with
 * {@code disable_bypass} when a device moves to dom_io).
 *
 * <p>Thread-safety: STE updates come from the driver under Xen's pcidevs lock; each STE is
 * published atomically ({@link AtomicReferenceArray}), so {@link #translate} (a device DMA,
 * any thread) sees an entry before or after an update, never half of it, and allocates nothing
 * unless it faults with FAULT tracing on.
 */
public final class SmmuV3 {
    /** Stream ID width of the model (IDR1.SIDSIZE). */
    public static final int SID_BITS = 16;

    private final String path;
    private final int phandle;
    private final long base;
    private final Hardware hardware;
    private final Trace trace;
    private final AtomicReferenceArray<StreamTableEntry> streamTable = new AtomicReferenceArray<>(1 << SID_BITS);

    SmmuV3(String path, int phandle, long base, Hardware hardware, Trace trace) {
        this.path = Objects.requireNonNull(path, "path");
        this.phandle = phandle;
        this.base = base;
        this.hardware = hardware;
        this.trace = trace;
    }

    /** Absolute DT path, e.g. {@code /smmuv3@9050000}. */
    public String path() {
        return path;
    }

    /** The node's phandle (what {@code iommu-map} entries reference), or 0 if it has none. */
    public int phandle() {
        return phandle;
    }

    /** Machine address of the register frame (first {@code reg} entry), or -1 if absent. */
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
     * Translates one device access: stream {@code sid}, input address {@code iova} (the
     * device's DMA address = the owner's guest-physical address, stage 2 only). RAM and direct
     * MMIO entries of the owner's p2m translate; trapped or unmapped addresses fault.
     *
     * @return the outcome; never throws for any sid/iova
     */
    public DmaTranslation translate(int sid, long iova) {
        if (!sidInRange(sid)) {
            return fault(sid, iova, null, DmaTranslation.Reason.BAD_STREAMID);
        }
        StreamTableEntry ste = streamTable.get(sid);
        if (ste == null) {
            return fault(sid, iova, null, DmaTranslation.Reason.BAD_STE);
        }
        Domain ctx = ste.context();
        if (ctx == null) {
            return fault(sid, iova, null, DmaTranslation.Reason.STREAM_DISABLED);
        }
        P2m.Entry e = ctx.p2m().lookup(iova);
        if (e instanceof P2m.Ram r) {
            long off = r.memOffset() + (iova - r.gpa());
            return new DmaTranslation.Ram(r.memory(), off, hostAddress(r.memory(), off));
        }
        if (e instanceof P2m.DirectMmio m) {
            return new DmaTranslation.Mmio(m.maddr() + (iova - m.gpa()));
        }
        // Emulated (trapped) regions have no stage-2 mapping: the device cannot reach them.
        return fault(sid, iova, ctx, DmaTranslation.Reason.TRANSLATION);
    }

    /** Points the STE at {@code context} (null: abort). Caller holds the pcidevs lock. */
    void install(int sid, Pdev pdev, Domain context) {
        streamTable.set(sid, new StreamTableEntry(pdev, context));
        if (trace.enabled(TraceCategory.DEVICE)) {
            trace.emit(new SmmuEvents.SteChanged(context == null ? -1 : context.domid(), path, sid, true));
        }
    }

    /** Invalidates the STE (device removed). */
    void invalidate(int sid) {
        streamTable.set(sid, null);
        if (trace.enabled(TraceCategory.DEVICE)) {
            trace.emit(new SmmuEvents.SteChanged(-1, path, sid, false));
        }
    }

    /** The machine address of {@code memory}+{@code off} if that memory is a host RAM bank, else -1. */
    private long hostAddress(SparseMemory memory, long off) {
        java.util.List<Hardware.RamBank> banks = hardware.ram();
        for (int i = 0; i < banks.size(); i++) {
            Hardware.RamBank b = banks.get(i);
            if (b.memory() == memory) {
                return b.base() + off;
            }
        }
        return -1;
    }

    private DmaTranslation fault(int sid, long iova, Domain ctx, DmaTranslation.Reason reason) {
        if (trace.enabled(TraceCategory.FAULT)) {
            trace.emit(new SmmuEvents.DmaFault(ctx == null ? -1 : ctx.domid(), path, sid, iova, reason));
        }
        return new DmaTranslation.Fault(sid, iova, reason);
    }

    @Override
    public String toString() {
        return "SMMUv3[" + path + "]";
    }
}
