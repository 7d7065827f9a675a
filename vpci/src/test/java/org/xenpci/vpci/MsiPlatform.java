package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.xenpci.armpci.ArmPci;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.Domctl;
import org.xenpci.armpci.DomctlCalls;
import org.xenpci.armpci.PhysdevCalls;
import org.xenpci.armpci.gicv3.GicV3Its;
import org.xenpci.armpci.gicv3.ItsLayer;
import org.xenpci.armpci.hw.ApertureKind;
import org.xenpci.armpci.hw.BarKind;
import org.xenpci.armpci.hw.ConfigImage;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.MsiMap;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.its.ItsCommand;
import org.xenpci.armpci.its.ItsHardware;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.armpci.smmu.ArmSmmu;
import org.xenpci.armpci.testkit.Trees;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.Hardware;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.pci.Sbdf;

/**
 * A QEMU-virt-like host for MSI scenarios: GICv3 ITS at 0x8080000 (phandle 0x8004), PCIe ECAM at
 * 0x40_1000_0000 with {@code msi-map = <0 &its 0 0x10000>}, QEMU NVMe at 00:01.0 (BAR0 at
 * 0x10040000), e1000e at 00:02.0, a 4-vector maskable MSI function at 00:03.0 (BAR0 at
 * 0x10050000). Booted with ArmPci, GicV3Its and ArmVpci; dom0 (2 vCPUs) reports every function.
 */
final class MsiPlatform {
    static final long ITS = 0x0808_0000L;
    static final long HOST_DOORBELL = ITS + ItsRegs.GITS_TRANSLATER;
    static final int ITS_PHANDLE = 0x8004;
    static final int SMMU_PHANDLE = 0x8005;
    static final long ECAM = 0x40_1000_0000L;
    static final long RAM = 0x4000_0000L;
    static final long NVME_BAR = 0x1004_0000L;
    static final long MSI4_BAR = 0x1005_0000L;
    static final Sbdf NVME = Sbdf.of(0, 1, 0);
    static final Sbdf NIC = Sbdf.of(0, 2, 0);
    static final Sbdf MSI4 = Sbdf.of(0, 3, 0);
    /** Guest RAM base and the guest's vITS command queue in it. */
    static final long GUEST_RAM = 0x4000_0000L;
    static final long GUEST_QUEUE = 0x4010_0000L;
    static final long GUEST_ECAM = ArmVpci.GUEST_VPCI_ECAM_BASE;
    static final long GUEST_BAR = 0x2300_0000L;

    final PciFunction nvme = DeviceCatalog.QEMU_NVME.newFunction();
    final PciFunction nic = DeviceCatalog.E1000E.newFunction();
    final PciFunction msi4 = PciFunction.fromConfig(ConfigImage.endpoint(0x1234, 0x5678).classCode(0xff0000)
            .bar(0, BarKind.MEM32, 0x1000, false).msi(true, 2, true).build().bytes(), Map.of(0, 0x1000L), 0);
    final ItsHardware its = new ItsHardware(ITS, 16, 16);
    final Xen xen;
    final Domain dom0;

    MsiPlatform(Profile profile) {
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        its.attach(space);
        Trees.attachSmmuV3(space, SMMU_PHANDLE);
        // Firmware assigned the BARs before Xen boots.
        nvme.config().write(0x10, 4, (int) NVME_BAR);
        msi4.config().write(0x10, 4, (int) MSI4_BAR);
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(ECAM, 0x1000_0000L)
                .aperture(0x1000_0000L, 0x1000_0000L, 0x2eff_0000L, ApertureKind.MEM32, false)
                .msiMap(MsiMap.single(0, ITS_PHANDLE, 0, 0x10000)).msiController(ITS_PHANDLE, its)
                .slot(1, 0, nvme).slot(2, 0, nic).slot(3, 0, msi4).build();
        hb.attach(space);
        Fdt dt = Fdt.of(FdtNode.root().property(FdtProperty.u32("#address-cells", 2))
                .property(FdtProperty.u32("#size-cells", 2))
                .child(Trees.memory(RAM, 0x1000_0000L))
                .child(Trees.gicV3WithIts(ITS, ITS_PHANDLE))
                .child(Trees.msiPcie(ECAM, ITS_PHANDLE).property(FdtProperty.u32("iommu-map", 0, SMMU_PHANDLE, 0, 0x10000)))
                .child(Trees.smmuV3("okay", SMMU_PHANDLE))
                .build());
        xen = Xen.builder().hardware(new Hardware(dt, space)).cmdline("pci-passthrough=on").profile(profile)
                .hardwareDomainVcpus(2).extension(new ArmSmmu()).extension(new ArmPci()).extension(new GicV3Its()).extension(new ArmVpci())
                .build();
        dom0 = xen.hardwareDomain();
        for (Sbdf s : new Sbdf[] {NVME, NIC, MSI4}) {
            assertThat(PhysdevCalls.pciDeviceAdd(dom0.vcpu(0), RAM + 0x1000, s, 0).rc()).isZero();
        }
    }

    ArmPciLayer pci() {
        return xen.service(ArmPciLayer.class).orElseThrow();
    }

    ItsLayer itsLayer() {
        return xen.service(ItsLayer.class).orElseThrow();
    }

    /** A guest with {@code vcpus} vCPUs, 16 MiB of RAM at 0x40000000, created with CDF_iommu. */
    Domain guest(int vcpus) {
        Domain g = xen.createDomain(new DomainConfig("guest", vcpus, false, false, true));
        g.p2m().addRam(GUEST_RAM, new SparseMemory(0x100_0000L));
        return g;
    }

    /**
     * The ONE place tests move a device between domains, the way the toolstack does: through
     * XEN_DOMCTL_assign_device / deassign_device issued by dom0 (a device goes to a guest via
     * quarantine in DOMID_IO; back to dom0 via deassign and de-quarantine).
     */
    void assign(Sbdf sbdf, Domain to) {
        long scratch = RAM + 0x1000;
        Domain from = pci().findPdev(sbdf).orElseThrow().owner();
        if (to.isHardwareDomain()) {
            if (from != xen.domIo()) {
                assertThat(DomctlCalls.deassignDevice(dom0.vcpu(0), scratch, from.domid(), sbdf).rc()).isZero();
            }
            assertThat(DomctlCalls.deassignDevice(dom0.vcpu(0), scratch, Domain.DOMID_IO, sbdf).rc()).isZero();
            return;
        }
        if (from.isHardwareDomain()) {
            assertThat(DomctlCalls.assignDevice(dom0.vcpu(0), scratch, Domain.DOMID_IO, sbdf, Domctl.DEV_RDM_RELAXED).rc())
                    .isZero();
        }
        assertThat(DomctlCalls.assignDevice(dom0.vcpu(0), scratch, to.domid(), sbdf, 0).rc()).isZero();
    }

    /** ECAM config address of guest SBDF 0000:00:{@code dev}.0 in the guest's vPCI window. */
    static long guestCfg(int dev) {
        return GUEST_ECAM + ((long) dev << 15);
    }

    /** A guest-side command queue writer for the vITS at {@code vits}, queue at {@code queue} in guest RAM. */
    static final class Queue {
        private final Domain d;
        private final long vits;
        private final long queue;
        private long writer;

        Queue(Domain d, long vits, long queue) {
            this.d = d;
            this.vits = vits;
            this.queue = queue;
            assertThat(d.mmioWrite(vits + ItsRegs.GITS_CBASER, 8, ItsRegs.GITS_CBASER_VALID | queue)).isTrue();
            assertThat(d.mmioWrite(vits + ItsRegs.GITS_CTLR, 4, ItsRegs.GITS_CTLR_ENABLED)).isTrue();
        }

        void send(ItsCommand... cmds) {
            for (ItsCommand c : cmds) {
                d.p2m().copyToGuest(queue + writer, c.toBytes());
                writer = (writer + 32) % 4096;
            }
            assertThat(d.mmioWrite(vits + ItsRegs.GITS_CWRITER, 8, writer)).isTrue();
        }
    }
}
