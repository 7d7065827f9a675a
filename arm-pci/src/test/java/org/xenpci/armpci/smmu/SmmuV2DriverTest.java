package org.xenpci.armpci.smmu;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.ArmPci;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.DomctlCalls;
import org.xenpci.armpci.IommuContext;
import org.xenpci.armpci.PciIommu;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.PhysdevCalls;
import org.xenpci.armpci.hw.InboundTranslation;
import org.xenpci.armpci.hw.IommuFault;
import org.xenpci.armpci.testkit.FakeEcam;
import org.xenpci.armpci.testkit.Trees;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.Errno;
import org.xenpci.core.Hardware;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.SparseMemory;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;

@DisplayName("Xen's SMMUv1/v2 driver (smmu.c) on an MMU-500 with iommu-map: probe, stream map and context bank allocation, assign/quarantine")
class SmmuV2DriverTest {
    private static final long SCRATCH = 0x4000_1000L;
    private static final Sbdf NIC = Sbdf.of(0, 2, 0);
    private static final Sbdf NIC2 = Sbdf.of(0, 3, 0);
    private static final long CB_SPACE = 0x10000;
    private static final long GUEST_RAM = 0x4000_0000L;

    private Xen xen;
    private SmmuV2 hw;
    private Vcpu dom0;

    private void boot(Fdt fdt, String cmdline, int smrGroups, int contextBanks) {
        FakeEcam ecam = new FakeEcam();
        ecam.endpoint(0, 2, 0, 0x8086, 0x10fb, 0x0200, 0x0);
        ecam.endpoint(0, 3, 0, 0x8086, 0x10fb, 0x0200, 0x0);
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        space.register("ecam", Trees.QEMU_ECAM, Trees.QEMU_ECAM_SIZE, ecam);
        hw = Trees.attachMmu500(space, smrGroups, contextBanks);
        xen = Xen.builder().hardware(new Hardware(fdt, space)).cmdline(cmdline).profile(Profile.UPSTREAM)
                .extension(new ArmSmmu()).extension(new ArmPci()).build();
        xen.trace().enable(TraceCategory.FAULT, true);
        dom0 = xen.hardwareDomain().vcpu(0);
    }

    private void boot() {
        boot(Trees.qemuVirtMmu500(), "", 4, 16);
    }

    private ArmPciLayer layer() {
        return xen.service(ArmPciLayer.class).orElseThrow();
    }

    private Pdev pdev(Sbdf s) {
        return layer().findPdev(s).orElseThrow();
    }

    private PciIommu iommu() {
        return layer().iommu();
    }

    private Domain guest() {
        Domain g = xen.createDomain(new DomainConfig("g", 1, false, false, true));
        g.p2m().addRam(GUEST_RAM, new SparseMemory(0x10_0000));
        return g;
    }

    private int add(Sbdf s) {
        return (int) PhysdevCalls.pciDeviceAdd(dom0, SCRATCH, s, 0).rc();
    }

    private HypercallResult assign(int domid, Sbdf s) {
        return DomctlCalls.assignDevice(dom0, SCRATCH, domid, s, 0);
    }

    private long cbReg(int cb, int reg) {
        return hw.read(CB_SPACE + cb * 0x1000L + reg, 4);
    }

    @Test
    @DisplayName("boot: the MMU-500 is probed and reset (CLIENTPD clear, USFCFG set), the IOMMU is on, and with pci-passthrough off the bridge is still registered")
    void probeAndGate() {
        boot();
        assertThat(xen.iommuEnabled()).isTrue();
        assertThat(xen.service(SmmuV2Driver.class)).isPresent();
        assertThat(iommu()).isInstanceOf(SmmuV2Driver.class);
        assertThat(layer().hostBridges().all()).hasSize(1);
        long cr0 = hw.read(SmmuV2.SCR0, 4);
        assertThat(cr0 & SmmuV2.SCR0_CLIENTPD).isZero();
        assertThat(cr0 & SmmuV2.SCR0_USFCFG).isNotZero();
        assertThat(hw.translate(0x10, 0, false)).as("unconfigured stream faults")
                .isEqualTo(new InboundTranslation.Fault(IommuFault.BAD_STE));
    }

    @Test
    @DisplayName("iommu=off: the SMMU is left in bypass and the bridge is not probed (no pci-passthrough, no IOMMU)")
    void iommuOff() {
        boot(Trees.qemuVirtMmu500(), "iommu=off", 4, 16);
        assertThat(xen.iommuEnabled()).isFalse();
        assertThat(hw.read(SmmuV2.SCR0, 4) & SmmuV2.SCR0_CLIENTPD).isEqualTo(1);
        assertThat(layer().hostBridges().all()).isEmpty();
    }

    @Test
    @DisplayName("a v2 node without #global-interrupts is not probed (-ENODEV): no IOMMU")
    void noGlobalInterrupts() {
        Fdt fdt = Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L))
                .child(Trees.mmu500(null).removeProperty("#global-interrupts"))
                .child(Trees.qemuPcie().property(FdtProperty.u32("iommu-map", 0, Trees.MMU500_PHANDLE, 0, 0x10000)))
                .build());
        boot(fdt, "", 4, 16);
        assertThat(xen.iommuEnabled()).isFalse();
    }

    @Test
    @DisplayName("add_device: SMR = RID 0x10, S2CR translates with context bank 0 (VMID = cbndx + 1), bound to dom0's p2m")
    void addDevice() {
        boot();
        assertThat(add(NIC)).isZero();
        assertThat(hw.read(SmmuV2.SMR_BASE, 4)).isEqualTo(0x8000_0010L);
        assertThat(hw.read(SmmuV2.S2CR_BASE, 4)).isEqualTo(0L);
        assertThat(hw.read(0x1000, 4)).as("CBAR: stage 2, VMID 1").isEqualTo(1L);
        assertThat(cbReg(0, 0) & SmmuV2.SCTLR_M).isNotZero();
        assertThat(hw.stage2(0)).isSameAs(xen.hardwareDomain());
        assertThat(iommu().context(pdev(NIC))).contains(new IommuContext.Translate(xen.hardwareDomain()));
        assertThat(add(NIC2)).isZero();
        assertThat(hw.read(SmmuV2.SMR_BASE + 4, 4)).isEqualTo(0x8000_0018L);
        assertThat(hw.read(SmmuV2.S2CR_BASE + 4, 4)).as("same domain, same context bank").isEqualTo(0L);
    }

    @Test
    @DisplayName("without an iommu-map the device has no fwspec: add_device is -ENXIO (smmu.c), and the PHYSDEVOP fails")
    void noIommuMap() {
        Fdt fdt = Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L)).child(Trees.mmu500(null))
                .child(Trees.qemuPcie()).build());
        boot(fdt, "", 4, 16);
        assertThat(add(NIC)).isEqualTo(Errno.ENXIO.rc());
        // the legacy mmu-masters binding names DT nodes, never a PCI function: still -ENXIO
        Fdt legacy = Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L))
                .child(Trees.mmu500(null).property(FdtProperty.u32("mmu-masters", 0x99, 0x10)))
                .child(Trees.qemuPcie().property(FdtProperty.u32("phandle", 0x99))).build());
        boot(legacy, "", 4, 16);
        assertThat(add(NIC)).isEqualTo(Errno.ENXIO.rc());
    }

    @Test
    @DisplayName("stream match groups exhausted: -ENOSPC; context banks exhausted: -ENOSPC, nothing half-applied")
    void exhaustion() {
        // One context bank: Xen's v2 probe wants exactly one context interrupt for it.
        Fdt fdt = Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L))
                .child(Trees.mmu500(null).replaceProperty(FdtProperty.u32("interrupts", 0, 155, 4, 0, 155, 4)))
                .child(Trees.qemuPcie().property(FdtProperty.u32("iommu-map", 0, Trees.MMU500_PHANDLE, 0, 0x10000)))
                .build());
        boot(fdt, "", 16, 16);
        assertThat(xen.iommuEnabled()).as("16 banks but 1 context interrupt: -ENODEV").isFalse();
        boot(fdt, "", 1, 1);
        assertThat(add(NIC)).isZero();
        assertThat(add(NIC2)).isEqualTo(Errno.ENOSPC.rc());
        Domain g = guest();
        assertThat(assign(Domain.DOMID_IO, NIC)).isEqualTo(HypercallResult.ok());
        assertThat(iommu().context(pdev(NIC))).contains(IommuContext.ABORT);
        // dom0's context bank was freed with its last master: the guest can have it
        assertThat(assign(g.domid(), NIC)).isEqualTo(HypercallResult.ok());
        assertThat(iommu().context(pdev(NIC))).contains(new IommuContext.Translate(g));
    }

    @Test
    @DisplayName("assign: straight from dom0 is -EEXIST (attached elsewhere); through dom_io the guest gets its own context bank; deassign quarantines (S2CR fault)")
    void assignThroughQuarantine() {
        boot();
        assertThat(add(NIC)).isZero();
        assertThat(add(NIC2)).isZero();
        Domain g = guest();
        assertThat(assign(g.domid(), NIC).errno()).isEqualTo(Errno.EEXIST);
        assertThat(pdev(NIC).owner()).isSameAs(xen.hardwareDomain());

        assertThat(assign(Domain.DOMID_IO, NIC)).isEqualTo(HypercallResult.ok());
        assertThat(hw.read(SmmuV2.S2CR_BASE, 4)).isEqualTo((long) SmmuV2.S2CR_TYPE_FAULT << 16);
        assertThat(hw.translate(0x10, GUEST_RAM, true)).isEqualTo(new InboundTranslation.Fault(IommuFault.STREAM_DISABLED));
        assertThat(iommu().context(pdev(NIC2))).as("dom0's other device keeps bank 0")
                .contains(new IommuContext.Translate(xen.hardwareDomain()));

        assertThat(assign(g.domid(), NIC)).isEqualTo(HypercallResult.ok());
        assertThat(hw.read(SmmuV2.S2CR_BASE, 4)).isEqualTo(1L);
        assertThat(hw.read(0x1000 + 4, 4)).as("CBAR1: VMID 2").isEqualTo(2L);
        assertThat(hw.stage2(1)).isSameAs(g);
        assertThat(hw.translate(0x10, GUEST_RAM + 8, true)).isInstanceOf(InboundTranslation.Window.class);
        assertThat(hw.translate(0x10, GUEST_RAM + 0x20_0000, true))
                .isEqualTo(new InboundTranslation.Fault(IommuFault.TRANSLATION));
        assertThat(cbReg(1, 0x58) & SmmuV2.FSR_TF).isNotZero();

        assertThat(DomctlCalls.deassignDevice(dom0, SCRATCH, g.domid(), NIC)).isEqualTo(HypercallResult.ok());
        assertThat(pdev(NIC).owner()).isSameAs(xen.domIo());
        assertThat(iommu().context(pdev(NIC))).contains(IommuContext.ABORT);
        assertThat(cbReg(1, 0) & SmmuV2.SCTLR_M).as("the guest's bank is torn down").isZero();
        assertThat(hw.stage2(1)).isNull();
        assertThat(iommu().reassignDevice(xen.domIo(), g, pdev(NIC))).isEqualTo(Errno.EPERM.rc());
    }
}
