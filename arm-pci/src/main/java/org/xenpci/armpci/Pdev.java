package org.xenpci.armpci;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.xenpci.core.Domain;
import org.xenpci.core.pci.Sbdf;

/**
 * A PCI device Xen knows about ({@code struct pci_dev}): created by PHYSDEVOP_pci_device_add,
 * owned by at most one domain, freed by PHYSDEVOP_pci_device_remove.
 *
 * <p>Thread-safety: every mutable field is guarded by Xen's pcidevs lock
 * ({@code Xen.pcidevsLock()}); mutators check that the caller holds it. {@link #owner()} is
 * volatile so that a holder of the owner's {@code pciLock} may read it without the pcidevs lock.
 */
public final class Pdev {
    private final Sbdf sbdf;
    private final PdevType type;
    private final java.util.concurrent.locks.ReentrantLock pcidevsLock;
    private volatile Domain owner;
    private boolean isExtfn;
    private boolean isVirtfn;
    private Pdev physfn;
    /** The linked VFs; null until the first VF links (most pdevs are not PFs: no empty list each). */
    private List<Pdev> vfs;
    private boolean broken;
    private boolean quarantine;
    private final int phantomStride;
    private volatile long[] vfRlen;
    /**
     * Links of the owner's device list ({@code pdev->domain_list} in {@code d->pdev_list}):
     * {@link PdevRegistry.DomainPdevs} keeps its ends, so the list costs no node per pdev.
     * Guarded by the owner's {@code pciLock}; null while unowned.
     */
    Pdev ownerPrev;
    Pdev ownerNext;

    Pdev(Sbdf sbdf, PdevType type, int phantomStride, java.util.concurrent.locks.ReentrantLock pcidevsLock) {
        this.sbdf = Objects.requireNonNull(sbdf, "sbdf");
        this.type = Objects.requireNonNull(type, "type");
        this.phantomStride = phantomStride;
        this.pcidevsLock = pcidevsLock;
    }

    /** The machine SBDF. */
    public Sbdf sbdf() {
        return sbdf;
    }

    /** Classification made when the pdev was first allocated. */
    public PdevType type() {
        return type;
    }

    /** The owning domain ({@code pdev->domain}), or null (never assigned, or left ownerless by a failed add). */
    public Domain owner() {
        return owner;
    }

    /** {@code info.is_extfn}: an ARI extended function (flag XEN_PCI_DEV_EXTFN, or inherited from the PF). */
    public boolean isExtfn() {
        return isExtfn;
    }

    /** {@code info.is_virtfn}: an SR-IOV virtual function. */
    public boolean isVirtfn() {
        return isVirtfn;
    }

    /** The physical function of a VF (null otherwise). */
    public Pdev physfn() {
        return physfn;
    }

    /** The VFs linked to this PF, in link order (a snapshot; caller holds the pcidevs lock for a stable view). */
    public List<Pdev> virtfns() {
        List<Pdev> v = vfs;
        return v == null ? List.of() : List.copyOf(v);
    }

    /** {@code pdev->broken}: can no longer be assigned to a domU (-EBADF). */
    public boolean broken() {
        return broken;
    }

    /** {@code pdev->quarantine}: assigned to dom_io by the toolstack. */
    public boolean quarantine() {
        return quarantine;
    }

    /** {@code pdev->phantom_stride}: 0 (none), or 1, 2, 4 from the PCIe DEVCAP phantom-functions field. */
    public int phantomStride() {
        return phantomStride;
    }

    /**
     * {@code pdev->physfn.vf_rlen[bar]}: one VF's size of the PF's VF BAR {@code bar} (0..5), as
     * Xen sized it when the PF was added; 0 if not sized (not a PF, an I/O or absent VF BAR, or
     * the PF was added with its VFs already enabled).
     *
     * @throws IndexOutOfBoundsException if {@code bar} is not 0..5 (PCI_SRIOV_NUM_BARS)
     */
    public long vfRlen(int bar) {
        java.util.Objects.checkIndex(bar, 6);
        long[] r = vfRlen;
        return r == null ? 0 : r[bar];
    }

    /** True once {@code vf_rlen} was sized (xen/drivers/passthrough/pci.c: pci_add_device). */
    public boolean hasVfRlen() {
        long[] r = vfRlen;
        return r != null && r[0] != 0;
    }

    /** True once any VF BAR was sized (the PF was added with its VFs off). */
    public boolean vfBarsSized() {
        return vfRlen != null;
    }

    void vfRlen(long[] rlen) {
        requireLock();
        vfRlen = rlen.clone();
    }

    /** Marks the device broken. Caller holds the pcidevs lock. */
    public void markBroken() {
        requireLock();
        broken = true;
    }

    /** Sets the quarantine flag (assignment to dom_io). Caller holds the pcidevs lock. */
    public void quarantine(boolean on) {
        requireLock();
        quarantine = on;
    }

    void owner(Domain d) {
        requireLock();
        owner = d;
    }

    void info(boolean extfn, boolean virtfn) {
        requireLock();
        isExtfn = extfn;
        isVirtfn = virtfn;
    }

    /** Links this VF to its PF (first time only) and inherits the PF's is_extfn. */
    void linkPhysfn(Pdev pf) {
        requireLock();
        if (physfn == null) {
            physfn = pf;
            if (pf.vfs == null) {
                pf.vfs = new ArrayList<>();
            }
            pf.vfs.add(this);
        }
        isExtfn = pf.isExtfn;
    }

    void unlinkFromPhysfn() {
        if (physfn != null) {
            physfn.vfs.remove(this);
            physfn = null;
        }
    }

    boolean hasVfs() {
        List<Pdev> v = vfs;
        return v != null && !v.isEmpty();
    }

    private void requireLock() {
        if (!pcidevsLock.isHeldByCurrentThread()) {
            throw new IllegalStateException("pdev " + sbdf + " changed without holding the pcidevs lock");
        }
    }

    @Override
    public String toString() {
        return "pdev " + sbdf + " " + type + (owner == null ? " (no owner)" : " owned by " + owner);
    }
}
