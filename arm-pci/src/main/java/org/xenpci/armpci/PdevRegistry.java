package org.xenpci.armpci;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.xenpci.core.Domain;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;

/**
 * Xen's device lists: per segment the list of every known pdev ({@code pci_seg->alldevs_list},
 * newest first), and per domain the devices it owns ({@code d->pdev_list}, newest first).
 *
 * <p>Thread-safety: segment lists are guarded by Xen's pcidevs lock, which every public method
 * here takes (it is re-entrant, like Xen's recursive spinlock). A domain's list is also guarded
 * by that domain's {@code pciLock()}: writers hold both, readers either.
 */
public final class PdevRegistry {
    /** PCI_EXP_DEVCAP_PHANTOM: DEVCAP bits 4:3. */
    private static final int PCI_EXP_DEVCAP_PHANTOM = 0x18;
    /** pci_find_cap_offset's loop bound (48 capabilities at most in 256 bytes). */
    private static final int PCI_FIND_CAP_TTL = 48;

    /**
     * A domain's owned pdevs; stored as a Domain extension. A doubly linked list through the
     * pdevs themselves ({@link Pdev#ownerPrev}/{@link Pdev#ownerNext}, as Xen links
     * {@code pdev->domain_list}), oldest to newest: O(1) link and unlink, and no node or hash
     * entry per pdev. A pdev is in its owner's list, and only there, exactly while it has an
     * owner ({@link #linkToOwner}/{@link #unlinkFromOwner} set both). Guarded by the domain's
     * {@code pciLock}.
     */
    static final class DomainPdevs {
        private Pdev oldest;
        private Pdev newest;

        /** Appends {@code p} (not in any list) as the newest. */
        void add(Pdev p) {
            p.ownerPrev = newest;
            p.ownerNext = null;
            if (newest == null) {
                oldest = p;
            } else {
                newest.ownerNext = p;
            }
            newest = p;
        }

        /** Unlinks {@code p}; no-op if it is not in this list. */
        void remove(Pdev p) {
            if (p.ownerPrev == null) {
                if (oldest != p) {
                    return;
                }
                oldest = p.ownerNext;
            } else {
                p.ownerPrev.ownerNext = p.ownerNext;
            }
            if (p.ownerNext == null) {
                newest = p.ownerPrev;
            } else {
                p.ownerNext.ownerPrev = p.ownerPrev;
            }
            p.ownerPrev = null;
            p.ownerNext = null;
        }

        /** The list newest first (Xen's order: {@code list_add} puts a pdev at the head). */
        List<Pdev> newestFirst() {
            List<Pdev> out = new ArrayList<>();
            for (Pdev p = newest; p != null; p = p.ownerPrev) {
                out.add(p);
            }
            return out;
        }
    }

    private final ReentrantLock pcidevsLock;
    private final PciConf conf;
    /**
     * Per segment, its pdevs by SBDF in insertion order (oldest first): lookup, insert and
     * removal in O(1), where Xen walks {@code alldevs_list}; the public views reverse it into
     * Xen's newest-first list order.
     */
    private final Map<Integer, java.util.LinkedHashMap<Sbdf, Pdev>> segments = new TreeMap<>();

    PdevRegistry(ReentrantLock pcidevsLock, PciConf conf) {
        this.pcidevsLock = pcidevsLock;
        this.conf = conf;
    }

    /** Whether Xen has a segment structure for {@code seg} ({@code get_pseg}). */
    public boolean hasSegment(int seg) {
        pcidevsLock.lock();
        try {
            return segments.containsKey(seg);
        } finally {
            pcidevsLock.unlock();
        }
    }

    /** {@code pci_get_pdev(NULL, sbdf)}: the pdev at this SBDF whatever its owner, if Xen knows it. */
    public Optional<Pdev> find(Sbdf sbdf) {
        pcidevsLock.lock();
        try {
            return Optional.ofNullable(get(sbdf));
        } finally {
            pcidevsLock.unlock();
        }
    }

    /** Every known pdev of segment {@code seg} in list order (newest first); empty if no such segment. */
    public List<Pdev> segmentDevices(int seg) {
        pcidevsLock.lock();
        try {
            java.util.LinkedHashMap<Sbdf, Pdev> l = segments.get(seg);
            return l == null ? List.of() : List.copyOf(newestFirst(l.values()));
        } finally {
            pcidevsLock.unlock();
        }
    }

    /** Every known pdev, segments ascending, each segment newest first. */
    public List<Pdev> all() {
        pcidevsLock.lock();
        try {
            List<Pdev> out = new ArrayList<>();
            for (java.util.LinkedHashMap<Sbdf, Pdev> l : segments.values()) {
                out.addAll(newestFirst(l.values()));
            }
            return out;
        } finally {
            pcidevsLock.unlock();
        }
    }

    /** The pdevs {@code d} owns ({@code d->pdev_list}), newest first; a snapshot under the domain's read lock. */
    public List<Pdev> ownedBy(Domain d) {
        ReentrantReadWriteLock.ReadLock r = d.pciLock().readLock();
        r.lock();
        try {
            DomainPdevs dp = d.extension(DomainPdevs.class);
            return dp == null ? List.of() : List.copyOf(dp.newestFirst());
        } finally {
            r.unlock();
        }
    }

    /**
     * Moves a pdev to another owner (or to none): unlinks it from its owner's list and inserts
     * it at the head of the new owner's list, each under that domain's {@code pciLock} for
     * writing. vPCI and IOMMU calls are the caller's business (the assignment domctls).
     *
     * @throws IllegalStateException if the caller does not hold the pcidevs lock
     */
    public void reassign(Pdev pdev, Domain newOwner) {
        requireLock();
        unlinkFromOwner(pdev);
        if (newOwner != null) {
            linkToOwner(pdev, newOwner);
        }
    }

    // ---- package-private operations for the PHYSDEVOPs (caller holds the pcidevs lock) ----

    /** {@code alloc_pseg}: get or create the segment's device table. */
    java.util.Map<Sbdf, Pdev> segment(int seg) {
        requireLock();
        return segments.computeIfAbsent(seg, k -> new java.util.LinkedHashMap<>());
    }

    /** {@code pci_get_pdev}: a hashed lookup (Xen walks the segment's list). */
    Pdev get(Sbdf sbdf) {
        java.util.LinkedHashMap<Sbdf, Pdev> l = segments.get(sbdf.segment());
        return l == null ? null : l.get(sbdf);
    }

    private static List<Pdev> newestFirst(java.util.Collection<Pdev> oldestFirst) {
        List<Pdev> out = new ArrayList<>(oldestFirst);
        java.util.Collections.reverse(out);
        return out;
    }

    /**
     * {@code alloc_pdev}: the existing pdev at this SBDF (re-add is allowed) or a new one,
     * classified from config space and inserted at the head of its segment's list.
     */
    Pdev allocPdev(Sbdf sbdf) {
        requireLock();
        java.util.Map<Sbdf, Pdev> seg = segment(sbdf.segment());
        Pdev existing = get(sbdf);
        if (existing != null) {
            return existing;
        }
        int expPos = findCapOffset(sbdf, PciRegs.PCI_CAP_ID_EXP);
        PdevType type = classify(sbdf, expPos);
        Pdev p = new Pdev(sbdf, type, type == PdevType.PCIE_ENDPOINT ? phantomStride(sbdf, expPos) : 0, pcidevsLock);
        seg.put(sbdf, p);
        return p;
    }

    /** {@code free_pdev}: removes it from its segment, from its PF's VF list, and from its owner's list. */
    void freePdev(Pdev pdev) {
        requireLock();
        java.util.LinkedHashMap<Sbdf, Pdev> seg = segments.get(pdev.sbdf().segment());
        if (seg != null) {
            seg.remove(pdev.sbdf(), pdev);
        }
        pdev.unlinkFromPhysfn();
        unlinkFromOwner(pdev);
    }

    /** Sets the owner and puts the pdev at the head of its list (domain write lock held inside). */
    void linkToOwner(Pdev pdev, Domain d) {
        if (pdev.owner() != null && pdev.owner() != d) {
            unlinkFromOwner(pdev); // one list at a time (callers link only unowned pdevs)
        }
        ReentrantReadWriteLock.WriteLock w = d.pciLock().writeLock();
        w.lock();
        try {
            if (pdev.owner() != d) { // already d's: it is in d's list (re-linking it is a no-op)
                d.extension(DomainPdevs.class, k -> new DomainPdevs()).add(pdev);
            }
            pdev.owner(d);
        } finally {
            w.unlock();
        }
    }

    /** Unlinks from the current owner's list (if any) and clears the owner. */
    void unlinkFromOwner(Pdev pdev) {
        Domain d = pdev.owner();
        if (d == null) {
            return;
        }
        ReentrantReadWriteLock.WriteLock w = d.pciLock().writeLock();
        w.lock();
        try {
            DomainPdevs dp = d.extension(DomainPdevs.class);
            if (dp != null) {
                dp.remove(pdev);
            }
            pdev.owner(null);
        } finally {
            w.unlock();
        }
    }

    /** {@code pdev_type}: class word and PCIe capability (xen/drivers/passthrough/pci.c). */
    PdevType classify(Sbdf sbdf, int expPos) {
        int cls = conf.read16(sbdf, PciRegs.PCI_CLASS_DEVICE);
        if (cls == PciRegs.PCI_CLASS_BRIDGE_PCI) {
            if (expPos == 0) {
                return PdevType.LEGACY_PCI_BRIDGE;
            }
            int flags = conf.read16(sbdf, expPos + PciRegs.PCI_EXP_FLAGS);
            int pcieType = (flags & PciRegs.PCI_EXP_FLAGS_TYPE) >> 4;
            if (pcieType == PciRegs.PCI_EXP_TYPE_PCI_BRIDGE) {
                return PdevType.PCIE2PCI_BRIDGE;
            }
            if (pcieType == PciRegs.PCI_EXP_TYPE_PCIE_BRIDGE) {
                return PdevType.PCI2PCIE_BRIDGE;
            }
            return PdevType.PCIE_BRIDGE;
        }
        if (cls == PciRegs.PCI_CLASS_BRIDGE_HOST) {
            return PdevType.PCI_HOST_BRIDGE;
        }
        if (cls == 0xffff) {
            return PdevType.PCI_UNKNOWN;
        }
        // Pre-PCI-2.0 devices (class 0) count as endpoints, as in Xen.
        return expPos != 0 ? PdevType.PCIE_ENDPOINT : PdevType.PCI;
    }

    /** {@code pci_find_cap_offset}: walks the legacy capability list; 0 if absent. */
    int findCapOffset(Sbdf sbdf, int capId) {
        int status = conf.read16(sbdf, PciRegs.PCI_STATUS);
        if ((status & PciRegs.PCI_STATUS_CAP_LIST) == 0) {
            return 0;
        }
        int pos = conf.read8(sbdf, PciRegs.PCI_CAPABILITY_LIST);
        for (int ttl = PCI_FIND_CAP_TTL; ttl > 0; ttl--) {
            pos &= ~3;
            if (pos < 0x40) {
                break;
            }
            int id = conf.read8(sbdf, pos);
            if (id == 0xff) {
                break;
            }
            if (id == capId) {
                return pos;
            }
            pos = conf.read8(sbdf, pos + PciRegs.PCI_CAP_LIST_NEXT);
        }
        return 0;
    }

    /** Phantom-function stride from DEVCAP (the {@code pci-phantom=} option is not modelled). */
    private int phantomStride(Sbdf sbdf, int expPos) {
        int cap = conf.read16(sbdf, expPos + PciRegs.PCI_EXP_DEVCAP);
        if ((cap & PCI_EXP_DEVCAP_PHANTOM) == 0) {
            return 0;
        }
        int stride = 8 >> ((cap & PCI_EXP_DEVCAP_PHANTOM) >> 3);
        return sbdf.function() >= stride ? 0 : stride;
    }

    private void requireLock() {
        if (!pcidevsLock.isHeldByCurrentThread()) {
            throw new IllegalStateException("the pcidevs lock must be held");
        }
    }
}
