package org.xenpci.armpci.testkit;

import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

/** Host device trees for the tests, as QEMU 7.2 virt and the ZCU102 DTB have them. */
public final class Trees {
    public static final long QEMU_ECAM = 0x40_1000_0000L;
    public static final long QEMU_ECAM_SIZE = 0x1000_0000L;
    public static final long ZYNQMP_ECAM = 0x80_0000_0000L;
    public static final long ZYNQMP_ECAM_SIZE = 0x100_0000L;

    private Trees() {
    }

    public static FdtNode.Builder root() {
        return FdtNode.root().property(FdtProperty.u32("#address-cells", 2)).property(FdtProperty.u32("#size-cells", 2))
                .property(FdtProperty.string("compatible", "linux,dummy-virt"));
    }

    /** QEMU virt's {@code /pcie@10000000} as QEMU 7.2 emits it (gic-version=3, its=on). */
    public static FdtNode.Builder qemuPcie() {
        return FdtNode.builder("pcie@10000000")
                .property(FdtProperty.u32("interrupt-map-mask", 0x1800, 0, 0, 7))
                .property(FdtProperty.u32("#interrupt-cells", 1))
                .property(FdtProperty.u32("ranges",
                        0x01000000, 0, 0, 0, 0x3eff0000, 0, 0x10000,
                        0x02000000, 0, 0x10000000, 0, 0x10000000, 0, 0x2eff0000,
                        0x03000000, 0x80, 0, 0x80, 0, 0x80, 0))
                .property(FdtProperty.u32("reg", 0x40, 0x10000000, 0, 0x10000000))
                .property(FdtProperty.u32("msi-map", 0, 0x8003, 0, 0x10000))
                .property(FdtProperty.empty("dma-coherent"))
                .property(FdtProperty.u32("bus-range", 0, 0xff))
                .property(FdtProperty.u32("linux,pci-domain", 0))
                .property(FdtProperty.u32("#size-cells", 2))
                .property(FdtProperty.u32("#address-cells", 3))
                .property(FdtProperty.string("device_type", "pci"))
                .property(FdtProperty.string("compatible", "pci-host-ecam-generic"));
    }

    /**
     * QEMU virt's GICv3 {@code /intc@8000000} with one ITS child {@code its@8080000} at
     * {@code itsBase} (2/2 cells and an identity {@code ranges}, as QEMU emits it).
     */
    public static FdtNode.Builder gicV3WithIts(long itsBase, int itsPhandle) {
        return FdtNode.builder("intc@8000000").property(FdtProperty.string("compatible", "arm,gic-v3"))
                .property(FdtProperty.u32("#address-cells", 2)).property(FdtProperty.u32("#size-cells", 2))
                .property(FdtProperty.empty("ranges"))
                .property(FdtProperty.u64("reg", 0x0800_0000L, 0x10000L, 0x080a_0000L, 0xf6_0000L))
                .child(FdtNode.builder("its@" + Long.toHexString(itsBase))
                        .property(FdtProperty.string("compatible", "arm,gic-v3-its"))
                        .property(FdtProperty.empty("msi-controller"))
                        .property(FdtProperty.u64("reg", itsBase, org.xenpci.armpci.its.ItsRegs.ITS_SIZE))
                        .property(FdtProperty.u32("phandle", itsPhandle)));
    }

    /**
     * A QEMU-virt-like {@code /pcie@10000000} for MSI platforms: ECAM at {@code ecam} (256 buses),
     * only the 32-bit MEM window, and {@code msi-map = <0 &its 0 0x10000>}.
     */
    public static FdtNode.Builder msiPcie(long ecam, int itsPhandle) {
        return FdtNode.builder("pcie@10000000").property(FdtProperty.string("compatible", "pci-host-ecam-generic"))
                .property(FdtProperty.string("device_type", "pci"))
                .property(FdtProperty.u32("#address-cells", 3)).property(FdtProperty.u32("#size-cells", 2))
                .property(FdtProperty.u64("reg", ecam, 0x1000_0000L))
                .property(FdtProperty.u32("bus-range", 0, 0xff))
                .property(FdtProperty.u32("linux,pci-domain", 0))
                .property(FdtProperty.u32("ranges", 0x02000000, 0, 0x10000000, 0, 0x10000000, 0, 0x2eff0000))
                .property(FdtProperty.u32("msi-map", 0, itsPhandle, 0, 0x10000));
    }

    /** Phandle the SMMUv3 test trees give {@code /smmuv3@9050000}. */
    public static final int SMMU_PHANDLE = 0x8004;

    /** QEMU virt's {@code /smmuv3@9050000} (iommu=smmuv3) with the given status (null: no status property). */
    public static FdtNode smmuV3(String status) {
        return smmuV3(status, SMMU_PHANDLE);
    }

    /**
     * The SMMUv3 hardware {@link #smmuV3(String, int)} describes, registered on {@code space}
     * (Platform does this for a board; hand-built test hardware calls it).
     */
    public static org.xenpci.armpci.smmu.SmmuV3 attachSmmuV3(org.xenpci.core.PhysicalAddressSpace space, int phandle) {
        org.xenpci.armpci.smmu.SmmuV3 s = new org.xenpci.armpci.smmu.SmmuV3("/smmuv3@9050000", phandle, 0x09050000L,
                0x20000);
        s.attach(space);
        return s;
    }

    /** {@link #smmuV3(String)} with another phandle (for trees that use 0x8004 for something else). */
    public static FdtNode smmuV3(String status, int phandle) {
        FdtNode.Builder b = FdtNode.builder("smmuv3@9050000")
                .property(FdtProperty.u32("#iommu-cells", 1))
                .property(FdtProperty.empty("dma-coherent"))
                .property(FdtProperty.u32("reg", 0, 0x09050000, 0, 0x20000))
                .property(FdtProperty.string("compatible", "arm,smmu-v3"))
                .property(FdtProperty.u32("phandle", phandle));
        if (status != null) {
            b.property(FdtProperty.string("status", status));
        }
        return b.build();
    }

    /**
     * QEMU virt with {@code iommu=smmuv3}: dom0 RAM at 0x4000_0000 + 256 MiB, the SMMU, and the
     * PCIe node with {@code iommu-map = <0 &smmu 0 0x10000>} (stream ID = RID).
     */
    public static Fdt qemuVirtSmmu() {
        return Fdt.of(root().child(memory(0x4000_0000L, 0x1000_0000L)).child(smmuV3("okay"))
                .child(qemuPcie().property(FdtProperty.u32("iommu-map", 0, SMMU_PHANDLE, 0, 0x10000))).build());
    }

    /** Phandle the SMMUv1/v2 test trees give {@code /iommu@fd800000}. */
    public static final int MMU500_PHANDLE = 0x8005;
    /** ZCU102's MMU-500 frame. */
    public static final long MMU500_BASE = 0xfd80_0000L;

    /**
     * An MMU-500 {@code /iommu@fd800000} as on the ZCU102 ({@code arm,mmu-500}, 128 KiB frame,
     * {@code #global-interrupts = 1} and 17 interrupts: 16 context banks), with the given status
     * (null: none) and extra properties.
     */
    public static FdtNode.Builder mmu500(String status) {
        int[] irqs = new int[17 * 3];
        for (int i = 0; i < 17; i++) {
            irqs[i * 3 + 1] = 155;
            irqs[i * 3 + 2] = 4;
        }
        FdtNode.Builder b = FdtNode.builder("iommu@fd800000")
                .property(FdtProperty.string("compatible", "arm,mmu-500"))
                .property(FdtProperty.u32("reg", 0, 0xfd800000, 0, 0x20000))
                .property(FdtProperty.u32("#iommu-cells", 1))
                .property(FdtProperty.u32("#global-interrupts", 1))
                .property(FdtProperty.u32("interrupts", irqs))
                .property(FdtProperty.u32("phandle", MMU500_PHANDLE));
        if (status != null) {
            b.property(FdtProperty.string("status", status));
        }
        return b;
    }

    /** The SMMUv1/v2 hardware {@link #mmu500} describes, registered on {@code space}. */
    public static org.xenpci.armpci.smmu.SmmuV2 attachMmu500(org.xenpci.core.PhysicalAddressSpace space, int smrGroups,
            int contextBanks) {
        org.xenpci.armpci.smmu.SmmuV2 s = new org.xenpci.armpci.smmu.SmmuV2("/iommu@fd800000", MMU500_PHANDLE,
                org.xenpci.armpci.smmu.SmmuV2.Version.V2, MMU500_BASE, 0x20000, 15, smrGroups, contextBanks);
        s.attach(space);
        return s;
    }

    /** QEMU virt's PCIe node behind an MMU-500 ({@code iommu-map = <0 &mmu500 0 0x10000>}, stream ID = RID). */
    public static Fdt qemuVirtMmu500() {
        return Fdt.of(root().child(memory(0x4000_0000L, 0x1000_0000L)).child(mmu500(null))
                .child(qemuPcie().property(FdtProperty.u32("iommu-map", 0, MMU500_PHANDLE, 0, 0x10000))).build());
    }

    /** A host tree with dom0 RAM at 0x4000_0000 + 256 MiB and QEMU's PCIe node. */
    public static Fdt qemuVirt() {
        return Fdt.of(root().child(memory(0x4000_0000L, 0x1000_0000L)).child(qemuPcie()).build());
    }

    public static FdtNode memory(long base, long size) {
        return FdtNode.builder("memory@" + Long.toHexString(base)).property(FdtProperty.string("device_type", "memory"))
                .property(FdtProperty.u64("reg", base, size)).build();
    }

    /** ZCU102's {@code /axi/pcie@fd0e0000} (16 MiB cfg, no linux,pci-domain). */
    public static FdtNode.Builder zynqmpPcie() {
        return FdtNode.builder("pcie@fd0e0000")
                .property(FdtProperty.u32("#address-cells", 3))
                .property(FdtProperty.u32("#size-cells", 2))
                .property(FdtProperty.string("compatible", "xlnx,nwl-pcie-2.11"))
                .property(FdtProperty.string("device_type", "pci"))
                .property(FdtProperty.u32("msi-parent", 0x19))
                .property(FdtProperty.empty("msi-controller"))
                .property(FdtProperty.u32("reg", 0, 0xfd0e0000, 0, 0x1000, 0, 0xfd480000, 0, 0x1000, 0x80, 0, 0, 0x1000000))
                .property(FdtProperty.strings("reg-names", "breg", "pcireg", "cfg"))
                .property(FdtProperty.u32("ranges",
                        0x02000000, 0, 0xe0000000, 0, 0xe0000000, 0, 0x10000000,
                        0x43000000, 6, 0, 6, 0, 2, 0))
                .property(FdtProperty.u32("bus-range", 0, 0xff))
                .property(FdtProperty.string("status", "okay"))
                .property(FdtProperty.u32("phandle", 0x19));
    }

    public static FdtNode.Builder axi() {
        return FdtNode.builder("axi").property(FdtProperty.string("compatible", "simple-bus"))
                .property(FdtProperty.u32("#address-cells", 2)).property(FdtProperty.u32("#size-cells", 2))
                .property(FdtProperty.empty("ranges"));
    }

    /** A ZCU102-like host tree: RAM at 0 + 2 GiB, {@code /axi/pcie@fd0e0000}. */
    public static Fdt zynqmp() {
        return Fdt.of(root().child(memory(0, 0x8000_0000L)).child(axi().child(zynqmpPcie())).build());
    }

    /** A generic ECAM bridge {@code pcie@<ecam>} with a one-page-per-bus window and optional pci-domain. */
    public static FdtNode.Builder generic(long ecam, int busStart, int busEnd, Integer domain) {
        FdtNode.Builder b = FdtNode.builder("pcie@" + Long.toHexString(ecam))
                .property(FdtProperty.string("compatible", "pci-host-ecam-generic"))
                .property(FdtProperty.string("device_type", "pci"))
                .property(FdtProperty.u32("#address-cells", 3))
                .property(FdtProperty.u32("#size-cells", 2))
                .property(FdtProperty.u64("reg", ecam, (long) (busEnd - busStart + 1) << 20))
                .property(FdtProperty.u32("bus-range", busStart, busEnd));
        if (domain != null) {
            b.property(FdtProperty.u32("linux,pci-domain", domain));
        }
        return b;
    }
}
