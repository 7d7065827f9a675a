package org.xenpci.armpci;

import static org.xenpci.core.pci.PciRegs.PCI_BASE_ADDRESS_MEM_MASK;
import static org.xenpci.core.pci.PciRegs.PCI_BASE_ADDRESS_MEM_PREFETCH;
import static org.xenpci.core.pci.PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_64;
import static org.xenpci.core.pci.PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_MASK;
import static org.xenpci.core.pci.PciRegs.PCI_BASE_ADDRESS_SPACE_IO;
import static org.xenpci.core.pci.PciRegs.PCI_EXT_CAP_ID_SRIOV;
import static org.xenpci.core.pci.PciRegs.PCI_EXT_CAP_START;
import static org.xenpci.core.pci.PciRegs.PCI_VENDOR_ID;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.xenpci.core.pci.Sbdf;

/**
 * What Xen can tell about an SR-IOV virtual function from its physical function, since a VF's
 * own config space reads Vendor/Device ID 0xFFFF and BARs 0 (PCIe Base, "SR-IOV VF
 * configuration space"): the PF's Vendor ID, the VF Device ID from the PF's SR-IOV capability,
 * and each VF BAR at {@code PF VF BARi + vf * vf_rlen[i]}.
 *
 * <p>Two Xen steps, kept in Xen's split: {@link #sizeVfBars} is {@code pci_add_device}'s sizing
 * of a PF's VF BARs into {@code pdev->physfn.vf_rlen} (xen/drivers/passthrough/pci.c, done only
 * while neither VF Enable nor VF MSE is set, because sizing writes all-ones into live VF BARs),
 * and {@link #of} is {@code read_pci_mem_bar} with {@code vf >= 0} (xen/arch/x86/msi.c), which
 * Xen uses to find a VF's MSI-X table: it re-reads the PF's SR-IOV control, NumVFs, offset and
 * stride and gives nothing for a VF outside them.
 *
 * @param pf the physical function
 * @param sriovPosition the offset of the PF's SR-IOV capability
 * @param vfIndex the VF's index {@code n} (routing ID = PF + First VF Offset + n * VF Stride)
 * @param vendorId the PF's Vendor ID
 * @param deviceId the VF Device ID of the PF's SR-IOV capability
 * @param bars six VF BAR slots in register order
 */
public record VirtfnResources(Sbdf pf, int sriovPosition, int vfIndex, int vendorId, int deviceId, List<Bar> bars) {
    /** PCI_SRIOV_NUM_BARS. */
    public static final int NUM_BARS = 6;
    /** SR-IOV Control, relative to the capability. */
    public static final int CTRL = 0x08;
    private static final int CTRL_VFE = 0x0001;
    /** SR-IOV Control, VF Memory Space Enable: every VF of the PF decodes its BARs. */
    public static final int CTRL_MSE = 0x0008;
    private static final int NUM_VF = 0x10;
    private static final int VF_OFFSET = 0x14;
    private static final int VF_STRIDE = 0x16;
    private static final int VF_DID = 0x1a;
    private static final int BAR = 0x24;

    /** How a VF BAR slot is used. */
    public enum Kind {
        /** Not implemented, I/O (Xen sizes no I/O VF BAR), or {@code vf_rlen} 0. */
        EMPTY,
        /** 32-bit memory BAR. */
        MEM32,
        /** Low half of a 64-bit memory BAR (the next slot is {@link #MEM64_HI}). */
        MEM64_LO,
        /** High half of the 64-bit BAR in the previous slot. */
        MEM64_HI
    }

    /**
     * One VF BAR slot.
     *
     * @param kind how the slot is used
     * @param address this VF's base address (0 unless {@link Kind#MEM32} or {@link Kind#MEM64_LO})
     * @param size one VF's size, {@code vf_rlen} (0 unless MEM32 / MEM64_LO)
     * @param prefetchable the PF's VF BAR prefetchable bit
     */
    public record Bar(Kind kind, long address, long size, boolean prefetchable) {
        static final Bar EMPTY = new Bar(Kind.EMPTY, 0, 0, false);
        static final Bar HI = new Bar(Kind.MEM64_HI, 0, 0, false);

        public Bar {
            Objects.requireNonNull(kind, "kind");
        }
    }

    public VirtfnResources {
        Objects.requireNonNull(pf, "pf");
        bars = List.copyOf(bars);
        if (bars.size() != NUM_BARS) {
            throw new IllegalArgumentException("a VF has " + NUM_BARS + " BAR slots, not " + bars.size());
        }
    }

    /** {@code pci_find_ext_capability(pdev, PCI_EXT_CAP_ID_SRIOV)}: the capability's offset, or 0. */
    static int sriovPosition(PciConf conf, Sbdf sbdf) {
        int pos = PCI_EXT_CAP_START;
        // At most (4096 - 256) / 8 headers, as Xen's ttl bound.
        for (int ttl = (4096 - PCI_EXT_CAP_START) / 8; ttl > 0 && pos >= PCI_EXT_CAP_START; ttl--) {
            int header = conf.read32(sbdf, pos);
            if (header == 0 || header == 0xFFFFFFFF) {
                return 0;
            }
            if ((header & 0xFFFF) == PCI_EXT_CAP_ID_SRIOV) {
                return pos;
            }
            pos = (header >>> 20) & 0xFFC;
        }
        return 0;
    }

    /**
     * {@code pci_add_device}'s VF BAR sizing of a PF ({@code pci_size_mem_bar(..., PCI_BAR_VF)}):
     * all-ones written, read back, restored, per memory VF BAR; an I/O VF BAR is skipped (Xen
     * warns and leaves its {@code vf_rlen} 0).
     *
     * @return the six {@code vf_rlen} values, or null when the function has no SR-IOV capability
     *         or its VFs are already enabled (VF Enable or VF MSE set: Xen warns and sizes nothing)
     */
    static long[] sizeVfBars(PciConf conf, Sbdf pf) {
        int pos = sriovPosition(conf, pf);
        if (pos == 0) {
            return null;
        }
        int ctrl = conf.read16(pf, pos + CTRL);
        if ((ctrl & (CTRL_VFE | CTRL_MSE)) != 0) {
            return null;
        }
        long[] rlen = new long[NUM_BARS];
        for (int i = 0; i < NUM_BARS;) {
            int reg = pos + BAR + 4 * i;
            int bar = conf.read32(pf, reg);
            if ((bar & PCI_BASE_ADDRESS_SPACE_IO) != 0) {
                i++;
                continue;
            }
            boolean is64 = (bar & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
            if (is64 && i == NUM_BARS - 1) {
                // pci_size_mem_bar with PCI_BAR_LAST: a 64-bit BAR cannot start in the last slot.
                break;
            }
            conf.write32(pf, reg, 0xFFFFFFFF);
            long size = conf.read32(pf, reg) & PCI_BASE_ADDRESS_MEM_MASK & 0xFFFFFFFFL;
            conf.write32(pf, reg, bar);
            if (is64) {
                int hi = conf.read32(pf, reg + 4);
                conf.write32(pf, reg + 4, 0xFFFFFFFF);
                size |= (conf.read32(pf, reg + 4) & 0xFFFFFFFFL) << 32;
                conf.write32(pf, reg + 4, hi);
            } else if (size != 0) {
                size |= 0xFFFFFFFF00000000L;
            }
            rlen[i] = -size;
            i += is64 ? 2 : 1;
        }
        return rlen;
    }

    /**
     * The resources of VF {@code vf} of {@code pf} ({@code read_pci_mem_bar} for each VF BAR,
     * xen/arch/x86/msi.c), read from the PF's config space now.
     *
     * @return empty when Xen would get nothing: {@code pf} is not an SR-IOV PF Xen sized
     *         ({@code vf_rlen} unknown), VF Enable or VF MSE is clear, NumVFs or the offset is 0,
     *         or {@code vf} is not one of the enabled VFs' routing IDs
     */
    public static Optional<VirtfnResources> of(PciConf conf, Pdev pf, Sbdf vf) {
        Sbdf p = pf.sbdf();
        int pos = sriovPosition(conf, p);
        if (pos == 0 || !pf.vfBarsSized() || vf.segment() != p.segment()) {
            return Optional.empty();
        }
        int ctrl = conf.read16(p, pos + CTRL);
        int numVf = conf.read16(p, pos + NUM_VF);
        int offset = conf.read16(p, pos + VF_OFFSET);
        int stride = conf.read16(p, pos + VF_STRIDE);
        if ((ctrl & CTRL_VFE) == 0 || (ctrl & CTRL_MSE) == 0 || numVf == 0 || offset == 0 || (numVf > 1 && stride == 0)) {
            return Optional.empty();
        }
        int n = ((vf.bus() << 8) | vf.devfn()) - ((p.bus() << 8) | p.devfn()) - offset;
        if (n < 0 || (stride != 0 && n % stride != 0)) {
            return Optional.empty();
        }
        if (stride != 0) {
            n /= stride;
        }
        if (n >= numVf) {
            return Optional.empty();
        }
        Bar[] bars = new Bar[NUM_BARS];
        for (int i = 0; i < NUM_BARS; i++) {
            int reg = pos + BAR + 4 * i;
            int val = conf.read32(p, reg);
            long rlen = pf.vfRlen(i);
            boolean is64 = (val & PCI_BASE_ADDRESS_SPACE_IO) == 0
                    && (val & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64;
            if ((val & PCI_BASE_ADDRESS_SPACE_IO) != 0 || rlen == 0 || (is64 && i == NUM_BARS - 1)) {
                bars[i] = Bar.EMPTY;
                continue;
            }
            long base = val & PCI_BASE_ADDRESS_MEM_MASK & 0xFFFFFFFFL;
            if (is64) {
                base |= (conf.read32(p, reg + 4) & 0xFFFFFFFFL) << 32;
            }
            bars[i] = new Bar(is64 ? Kind.MEM64_LO : Kind.MEM32, base + n * rlen, rlen,
                    (val & PCI_BASE_ADDRESS_MEM_PREFETCH) != 0);
            if (is64) {
                bars[++i] = Bar.HI;
            }
        }
        int vendor = conf.read16(p, PCI_VENDOR_ID);
        int device = conf.read16(p, pos + VF_DID);
        return Optional.of(new VirtfnResources(p, pos, n, vendor, device, List.of(bars)));
    }
}
