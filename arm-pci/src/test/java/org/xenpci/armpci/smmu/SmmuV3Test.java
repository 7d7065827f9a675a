package org.xenpci.armpci.smmu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.ArmPci;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.testkit.FakeEcam;
import org.xenpci.armpci.PciIommu;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.PhysdevCalls;
import org.xenpci.armpci.testkit.Trees;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.Errno;
import org.xenpci.core.Hardware;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;

@DisplayName("SMMUv3 model: probe, add_device stream IDs and errno, stream table, stage-2 DMA translation")
class SmmuV3Test {
    private static final long SCRATCH = 0x4000_1000L;
    static final Sbdf NIC = Sbdf.of(0, 2, 0);
    static final Sbdf NIC_FN1 = Sbdf.of(0, 2, 1);
    static final Sbdf BUS1 = Sbdf.of(1, 0, 0);

    private Xen xen;
    private ArmSmmu smmu;

    private static PhysicalAddressSpace hardware() {
        FakeEcam ecam = new FakeEcam();
        ecam.endpoint(0, 2, 0, 0x8086, 0x10fb, 0x0200, 0x0);
        ecam.endpoint(0, 2, 1, 0x8086, 0x10fb, 0x0200, 0x0);
        ecam.endpoint(1, 0, 0, 0x1af4, 0x1041, 0x0200, 0x0);
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        space.register("ecam", Trees.QEMU_ECAM, Trees.QEMU_ECAM_SIZE, ecam);
        Trees.attachSmmuV3(space, Trees.SMMU_PHANDLE);
        return space;
    }

    private void boot(Fdt fdt, String cmdline) {
        boot(fdt, cmdline, hardware());
    }

    private void boot(Fdt fdt, String cmdline, PhysicalAddressSpace space) {
        smmu = new ArmSmmu();
        xen = Xen.builder().hardware(new Hardware(fdt, space)).cmdline(cmdline).profile(Profile.UPSTREAM)
                .extension(smmu).extension(new ArmPci()).build();
        xen.trace().enable(TraceCategory.FAULT, true);
    }

    /** QEMU virt with the SMMU and the host bridge's iommu-map replaced by {@code map} (null: none) and mask. */
    private static Fdt tree(int[] map, Integer mask) {
        FdtNode.Builder pcie = Trees.qemuPcie();
        if (map != null) {
            pcie.property(FdtProperty.u32("iommu-map", map));
        }
        if (mask != null) {
            pcie.property(FdtProperty.u32("iommu-map-mask", mask));
        }
        return Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L)).child(Trees.smmuV3("okay"))
                .child(pcie).build());
    }

    private HypercallResult add(Sbdf sbdf) {
        return PhysdevCalls.pciDeviceAdd(xen.hardwareDomain().vcpu(0), SCRATCH, sbdf, 0);
    }

    private SmmuV3Driver driver() {
        return xen.service(SmmuV3Driver.class).orElseThrow();
    }

    private Pdev pdev(Sbdf s) {
        return xen.service(ArmPciLayer.class).orElseThrow().findPdev(s).orElseThrow();
    }

    @Test
    @DisplayName("an available arm,smmu-v3 node enables the IOMMU and ArmPci installs the published driver")
    void probeOn() {
        boot(Trees.qemuVirtSmmu(), "");

        assertThat(xen.iommuEnabled()).isTrue();
        assertThat(xen.hardwareDomain().iommuEnabled()).isTrue();
        assertThat(smmu.driver()).containsSame(driver());
        assertThat(xen.service(PciIommu.class)).containsSame(driver());
        assertThat(xen.service(ArmPciLayer.class).orElseThrow().iommu()).isSameAs(driver());
        SmmuV3 s = driver().smmus().get(0);
        assertThat(s.path()).isEqualTo("/smmuv3@9050000");
        assertThat(s.phandle()).isEqualTo(0x8004);
        assertThat(s.base()).isEqualTo(0x9050000L);
        assertThat(s.sidBits()).isEqualTo(16);
        // The IOMMU alone opens the PCI gate (arch_pci_device_physdevop).
        assertThat(xen.service(ArmPciLayer.class).orElseThrow().pciInitRan()).isTrue();
    }

    @Test
    @DisplayName("a node with status \"disabled\" is ignored: IOMMU off, no driver, PHYSDEVOPs closed")
    void probeDisabled() {
        boot(Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L)).child(Trees.smmuV3("disabled"))
                .child(Trees.qemuPcie()).build()), "");

        assertThat(xen.iommuEnabled()).isFalse();
        assertThat(smmu.driver()).isEmpty();
        assertThat(xen.service(PciIommu.class)).isEmpty();
        assertThat(add(NIC).errno()).isEqualTo(Errno.EOPNOTSUPP);
    }

    @Test
    @DisplayName("iommu=off (and 0/no/false) on the command line leaves the SMMU alone")
    void probeCommandLineOff() {
        for (String c : new String[] {"iommu=off", "iommu=0", "iommu=no", "iommu=false", "no-iommu"}) {
            boot(Trees.qemuVirtSmmu(), c);

            assertThat(xen.iommuEnabled()).as(c).isFalse();
            assertThat(smmu.driver()).as(c).isEmpty();
        }
        boot(Trees.qemuVirtSmmu(), "iommu=on");
        assertThat(xen.iommuEnabled()).isTrue();
    }

    @Test
    @DisplayName("a host without an SMMU node keeps the IOMMU off")
    void probeNone() {
        boot(Trees.qemuVirt(), "");

        assertThat(xen.iommuEnabled()).isFalse();
    }

    @Test
    @DisplayName("PHYSDEVOP_pci_device_add attaches the device to the hardware domain at stream ID = RID")
    void addAttachesToHwdom() {
        boot(Trees.qemuVirtSmmu(), "");

        assertThat(add(NIC)).isEqualTo(HypercallResult.ok());

        StreamId sid = driver().streamId(NIC).orElseThrow();
        assertThat(sid.sid()).isEqualTo(0x10);
        assertThat(driver().owner(0x10)).containsSame(xen.hardwareDomain());
        assertThat(sid.smmu().entry(0x10).orElseThrow().pdev()).isSameAs(pdev(NIC));
        assertThat(add(BUS1).rc()).isEqualTo(0);
        assertThat(driver().streamId(BUS1).orElseThrow().sid()).isEqualTo(0x100);
    }

    @Test
    @DisplayName("hardware-domain DMA translates 1:1 onto host RAM")
    void hwdomTranslation() {
        boot(Trees.qemuVirtSmmu(), "");
        add(NIC);

        DmaTranslation t = driver().translate(0x10, 0x4000_2468L);

        assertThat(t).isInstanceOf(DmaTranslation.Ram.class);
        DmaTranslation.Ram r = (DmaTranslation.Ram) t;
        assertThat(r.maddr()).isEqualTo(0x4000_2468L);
        assertThat(r.offset()).isEqualTo(0x2468L);
        assertThat(r.memory()).isSameAs(xen.hardware().ram().get(0).memory());
    }

    @Test
    @DisplayName("iommu-map-mask folds functions onto one stream ID; a second map entry offsets other buses")
    void maskAndEntries() {
        boot(tree(new int[] {0, Trees.SMMU_PHANDLE, 0x800, 0x100, 0x100, Trees.SMMU_PHANDLE, 0x2000, 0x100}, 0xfff8), "");

        assertThat(add(NIC).rc()).isEqualTo(0);
        assertThat(add(BUS1).rc()).isEqualTo(0);

        assertThat(driver().streamId(NIC).orElseThrow().sid()).isEqualTo(0x810);
        assertThat(driver().streamId(BUS1).orElseThrow().sid()).isEqualTo(0x2000);
    }

    @Test
    @DisplayName("no iommu-map on the host bridge: not behind an IOMMU, no fwspec, -ENODEV and the pdev stays ownerless")
    void noIommuMap() {
        boot(tree(null, null), "");

        assertThat(add(NIC).errno()).isEqualTo(Errno.ENODEV);
        assertThat(pdev(NIC).owner()).isNull();
        assertThat(driver().streamId(NIC)).isEmpty();
    }

    @Test
    @DisplayName("a RID no iommu-map entry covers gives -ENODEV")
    void ridNotCovered() {
        boot(tree(new int[] {0, Trees.SMMU_PHANDLE, 0, 0x100}, null), "");

        assertThat(add(NIC).rc()).isEqualTo(0);
        assertThat(add(BUS1).errno()).isEqualTo(Errno.ENODEV);
    }

    @Test
    @DisplayName("an iommu-map entry pointing at a node that is not a driven SMMU gives -ENODEV")
    void phandleNotSmmu() {
        boot(tree(new int[] {0, 0x8003, 0, 0x10000}, null), "");

        assertThat(add(NIC).errno()).isEqualTo(Errno.ENODEV);
    }

    @Test
    @DisplayName("a device with no host bridge gives -ENODEV")
    void noHostBridge() {
        boot(Trees.qemuVirtSmmu(), "");

        assertThat(add(new Sbdf(1, 0, 2, 0)).errno()).isEqualTo(Errno.ENODEV);
    }

    @Test
    @DisplayName("a stream ID beyond 16 bits gives -ERANGE; the fwspec stays, so re-adding gives -EEXIST")
    void erangeThenEexist() {
        boot(tree(new int[] {0, Trees.SMMU_PHANDLE, 0x10000, 0x10000}, null), "");

        assertThat(add(NIC).errno()).isEqualTo(Errno.ERANGE);
        assertThat(pdev(NIC).owner()).isNull();
        assertThat(driver().streamId(NIC).orElseThrow().sid()).isEqualTo(0x10010);
        assertThat(add(NIC).errno()).isEqualTo(Errno.EEXIST);
    }

    @Test
    @DisplayName("add_device on a device that already has a fwspec gives -EEXIST")
    void eexistDirect() {
        boot(Trees.qemuVirtSmmu(), "");
        add(NIC);

        xen.pcidevsLock().lock();
        try {
            assertThat(driver().addDevice(pdev(NIC))).isEqualTo(Errno.EEXIST.rc());
        } finally {
            xen.pcidevsLock().unlock();
        }
    }

    @Test
    @DisplayName("a guest context translates RAM and direct MMIO through the guest p2m; everything else faults")
    void guestTranslation() {
        boot(Trees.qemuVirtSmmu(), "");
        add(NIC);
        Domain g = xen.createDomain(DomainConfig.guest("g", 1));
        SparseMemory ram = new SparseMemory(0x10_0000);
        g.p2m().addRam(0x4000_0000L, ram);
        assertThat(g.p2m().mapMmio(0x23000, 1, 0x10000)).isEqualTo(0);
        xen.pcidevsLock().lock();
        try {
            assertThat(driver().assignDevice(g, pdev(NIC))).isEqualTo(0);
        } finally {
            xen.pcidevsLock().unlock();
        }

        assertThat(driver().owner(0x10)).containsSame(g);
        DmaTranslation.Ram r = (DmaTranslation.Ram) driver().translate(0x10, 0x4000_0ff8L);
        assertThat(r.memory()).isSameAs(ram);
        assertThat(r.offset()).isEqualTo(0xff8L);
        assertThat(r.maddr()).isEqualTo(-1L);
        assertThat(driver().translate(0x10, 0x2300_0010L)).isEqualTo(new DmaTranslation.Mmio(0x1000_0010L));
        // The hardware domain's RAM is no longer reachable through this stream.
        assertThat(driver().translate(0x10, 0x4010_0000L))
                .isEqualTo(new DmaTranslation.Fault(0x10, 0x4010_0000L, DmaTranslation.Reason.TRANSLATION));
        assertThat(driver().translate(0x11, 0x4000_0000L))
                .isEqualTo(new DmaTranslation.Fault(0x11, 0x4000_0000L, DmaTranslation.Reason.BAD_STE));
        assertThat(driver().translate(0x10000, 0))
                .isEqualTo(new DmaTranslation.Fault(0x10000, 0, DmaTranslation.Reason.BAD_STREAMID));
        assertThat(xen.trace().events(SmmuEvents.DmaFault.class)).extracting(SmmuEvents.DmaFault::reason)
                .containsExactly(DmaTranslation.Reason.TRANSLATION, DmaTranslation.Reason.BAD_STE,
                        DmaTranslation.Reason.BAD_STREAMID);
    }

    @Test
    @DisplayName("dom_io detaches (aborting STE); reassign accepts only hwdom or dom_io targets")
    void domIoAndReassign() {
        boot(Trees.qemuVirtSmmu(), "");
        add(NIC);
        Domain g = xen.createDomain(DomainConfig.guest("g", 1));
        Pdev p = pdev(NIC);

        assertThat(driver().assignDevice(xen.domIo(), p)).isEqualTo(0);
        assertThat(driver().owner(0x10)).isEmpty();
        assertThat(driver().translate(0x10, 0x4000_0000L))
                .isEqualTo(new DmaTranslation.Fault(0x10, 0x4000_0000L, DmaTranslation.Reason.STREAM_DISABLED));
        assertThat(driver().reassignDevice(xen.domIo(), g, p)).isEqualTo(Errno.EPERM.rc());
        assertThat(driver().reassignDevice(xen.domIo(), xen.hardwareDomain(), p)).isEqualTo(0);
        assertThat(driver().owner(0x10)).containsSame(xen.hardwareDomain());
    }

    @Test
    @DisplayName("PHYSDEVOP_pci_device_remove invalidates the STE and frees the fwspec")
    void remove() {
        boot(Trees.qemuVirtSmmu(), "");
        add(NIC);

        assertThat(PhysdevCalls.pciDeviceRemove(xen.hardwareDomain().vcpu(0), SCRATCH, NIC).rc()).isEqualTo(0);

        assertThat(driver().streamId(NIC)).isEmpty();
        assertThat(driver().smmus().get(0).entry(0x10)).isEqualTo(Optional.empty());
        assertThat(add(NIC).rc()).isEqualTo(0);
    }

    @Test
    @DisplayName("the single-SMMU conveniences refuse to guess when there are several SMMUs")
    void severalSmmus() {
        FdtNode.Builder b = FdtNode.builder("smmuv3@9070000");
        Trees.smmuV3("okay").properties().forEach(b::property);
        FdtNode second = b.replaceProperty(FdtProperty.u32("phandle", 0x8006))
                .replaceProperty(FdtProperty.u32("reg", 0, 0x09070000, 0, 0x20000)).build();
        PhysicalAddressSpace space = hardware();
        new SmmuV3("/smmuv3@9070000", 0x8006, 0x09070000L, 0x20000).attach(space);
        boot(Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L)).child(Trees.smmuV3(null))
                .child(second).child(Trees.qemuPcie().property(FdtProperty.u32("iommu-map", 0, 0x8006, 0, 0x10000)))
                .build()), "", space);
        add(NIC);

        assertThat(driver().smmus()).hasSize(2);
        assertThat(driver().streamId(NIC).orElseThrow().smmu().path()).isEqualTo("/smmuv3@9070000");
        assertThatThrownBy(() -> driver().translate(0x10, 0)).isInstanceOf(IllegalStateException.class);
    }
}
