package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.DmaResult;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.Trace;
import org.xenpci.libxl.audit.IsolationAuditor;
import org.xenpci.libxl.dt.GuestMemoryMap;
import org.xenpci.libxl.guest.HardwareDomainGuest;
import org.xenpci.libxl.guest.ProbedFunction;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.ResetMethod;
import org.xenpci.vpci.ArmVpci;

/**
 * An SR-IOV VF passed to a domU (full profile, {@code Profile.vpciGuestVirtfn}): the igb-like PF
 * at 00:05.0 with 2 VFs enabled by dom0, VF 1 (00:15.2) in the guest's {@code pci = [...]}. vPCI
 * presents the PF's Vendor ID, the VF Device ID and the VF's slice of the PF's VF BARs
 * ({@code xen/arch/x86/msi.c: read_pci_mem_bar}); the VF's own MSI-X capability is emulated as
 * for any function, and its DMA carries the VF's own requester ID.
 */
@DisplayName("SR-IOV: a VF passed to a guest (full profile)")
class VfPassthroughScenarioTest {
    static final Sbdf PF = SriovScenarioTest.PF;
    static final Sbdf VF0 = SriovScenarioTest.VF0;
    static final Sbdf VF1 = SriovScenarioTest.VF1;
    /** The guest sees its only device at 00:00.0 of its virtual bus. */
    static final long GUEST_CFG = ArmVpci.GUEST_VPCI_ECAM_BASE;

    final PciFunction pf = DeviceCatalog.QEMU_IGB.newFunction();
    final XenHost host = XenHost.boot(SriovScenarioTest.platform(pf), Profile.FULL, new Trace(), Map.of(PF, 2));
    final Libxl libxl = new Libxl(host);

    PciFunction vf(int n) {
        return pf.sriov().orElseThrow().virtualFunctions().get(n);
    }

    Domain guest() {
        return TestGuests.create(libxl, "vf", 2, VF1.toString());
    }

    static int cfgRead(Domain d, int reg, int size) {
        Vcpu v = d.vcpu(0);
        long val = v.mmioRead(GUEST_CFG + reg, size);
        assertThat(v.takeDataAbort()).as("config read 0x%x", reg).isNull();
        return (int) val;
    }

    static void cfgWrite(Domain d, int reg, int size, int value) {
        Vcpu v = d.vcpu(0);
        v.mmioWrite(GUEST_CFG + reg, size, value);
        assertThat(v.takeDataAbort()).as("config write 0x%x", reg).isNull();
    }

    @Test
    @DisplayName("the guest reads the PF's vendor 8086 and the VF device 10ca, where the VF itself reads ffff")
    void guestSeesVfIdentity() {
        Domain d = guest();
        assertThat(host.pci().conf().read32(VF1, PciRegs.PCI_VENDOR_ID)).isEqualTo(0xFFFFFFFF);
        assertThat(cfgRead(d, PciRegs.PCI_VENDOR_ID, 4)).isEqualTo(0x10ca8086);
        assertThat(cfgRead(d, PciRegs.PCI_DEVICE_ID, 2)).isEqualTo(0x10ca);
    }

    @Test
    @DisplayName("the guest sizes VF BAR0 and BAR3 as 16 KiB 64-bit prefetchable; the other slots read 0")
    void guestSizesVfBars() {
        Domain d = guest();
        int[] sizes = new int[6];
        for (int i = 0; i < 6; i++) {
            int reg = PciRegs.PCI_BASE_ADDRESS_0 + 4 * i;
            int old = cfgRead(d, reg, 4);
            cfgWrite(d, reg, 4, 0xFFFFFFFF);
            sizes[i] = cfgRead(d, reg, 4);
            cfgWrite(d, reg, 4, old);
        }
        assertThat(sizes).containsExactly(0xFFFFC00C, 0xFFFFFFFF, 0, 0xFFFFC00C, 0xFFFFFFFF, 0);
    }

    @Test
    @DisplayName("the reference guest probes it at 00:00.0 with both BARs inside the guest's prefetchable window, mapped onto VF 1's slice")
    void probedInsideTheGuestWindow() {
        Domain d = guest();
        ReferenceGuest.Probe p = new ReferenceGuest(d).probe();
        assertThat(p.functions()).hasSize(1);
        ProbedFunction f = p.functions().get(0);
        assertThat(f.sbdf().devfn()).isZero();
        assertThat(f.vendor()).isEqualTo(0x8086);
        assertThat(f.device()).isEqualTo(0x10ca);
        assertThat(f.bars()).hasSize(2).allSatisfy(b -> {
            assertThat(b.size()).isEqualTo(0x4000);
            assertThat(b.address()).isBetween(GuestMemoryMap.GUEST_VPCI_PREFETCH_MEM_ADDR,
                    GuestMemoryMap.GUEST_VPCI_PREFETCH_MEM_ADDR + GuestMemoryMap.GUEST_VPCI_PREFETCH_MEM_SIZE - b.size());
        });
        ProbedFunction.ProbedBar bar0 = f.bars().stream().filter(b -> b.index() == 0).findFirst().orElseThrow();
        // VF 1's BAR0 is the PF's VF BAR0 + 1 * 16 KiB: the guest's BAR page maps exactly there.
        assertThat(vf(1).barAddress(0)).isEqualTo(vf(0).barAddress(0) + 0x4000);
        assertThat(d.p2m().lookup(bar0.address())).isInstanceOfSatisfying(org.xenpci.core.P2m.DirectMmio.class,
                m -> assertThat(m.maddr() + (bar0.address() - m.gpa())).isEqualTo(vf(1).barAddress(0)));
    }

    @Test
    @DisplayName("the guest programs the VF's MSI-X; the VF fires entry 1 and its LPI is pending on the vCPU the guest chose")
    void vfMsixLandsAsLpi() {
        Domain d = guest();
        ProbedFunction f = new ReferenceGuest(d).probe().functions().get(0);
        assertThat(f.msixVectors()).hasSizeGreaterThan(1);
        ProbedFunction.MsixVector v = f.msixVectors().get(1);
        assertThat(vf(1).signal(v.entry())).isEqualTo(SignalResult.SENT);
        assertThat(d.vcpu(v.vcpu()).pendingInterrupts()).containsExactly(v.lpi());
        assertThat(vf(0).signal(v.entry())).isNotEqualTo(SignalResult.SENT);
    }

    @Test
    @DisplayName("the VF's DMA goes through the SMMU with its own requester ID: into guest RAM it lands, past it faults as 00:15.2")
    void vfDmaWithItsOwnRequesterId() {
        Domain d = guest();
        new ReferenceGuest(d).probe();
        cfgWrite(d, PciRegs.PCI_COMMAND, 2, cfgRead(d, PciRegs.PCI_COMMAND, 2) | PciRegs.PCI_COMMAND_MASTER);
        long ram = GuestMemoryMap.GUEST_RAM0_BASE;
        assertThat(vf(1).dmaWrite(ram + 0x2000, 8, 0x1122334455667788L).completed()).isTrue();
        Vcpu v = d.vcpu(0);
        assertThat(d.p2m().copyFromGuest(ram + 0x2000, 1)[0]).isEqualTo((byte) 0x88);
        DmaResult r = vf(1).dmaWrite(ram + (1L << 32), 8, -1L);
        assertThat(r).isInstanceOf(DmaResult.Fault.class);
        assertThat(((DmaResult.Fault) r).requesterId()).isEqualTo(VF1.bus() << 8 | VF1.devfn());
        assertThat(v.takeDataAbort()).isNull();
    }

    @Test
    @DisplayName("destroy: the VF gets an FLR, leaves the guest for dom_io with MSI-X off, and nothing of the guest survives")
    void destroyLeavesNothing() {
        Domain d = guest();
        new ReferenceGuest(d).probe();
        libxl.destroyDomain(d.domid());
        Pdev vf = host.pci().pdevs().find(VF1).orElseThrow();
        assertThat(vf.owner()).isSameAs(host.xen().domIo());
        assertThat(libxl.resets()).anySatisfy(r -> {
            assertThat(r.sbdf()).isEqualTo(VF1);
            assertThat(r.method()).isEqualTo(ResetMethod.FLR);
        });
        assertThat(vf(1).signal(0)).isNotEqualTo(SignalResult.SENT);
        assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
    }

    @Test
    @DisplayName("two VFs of one PF in one guest: 00:00.0 and 00:01.0, each with its own slice of the VF BARs")
    void twoVfsInOneGuest() {
        Domain d = TestGuests.create(libxl, "vf2", 1, VF0.toString(), VF1.toString());
        ReferenceGuest.Probe p = new ReferenceGuest(d).probe();
        assertThat(p.functions()).extracting(f -> f.sbdf().devfn()).containsExactly(0x00, 0x08);
        assertThat(p.functions()).allSatisfy(f -> assertThat(f.device()).isEqualTo(0x10ca));
        assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
    }

    @Test
    @DisplayName("dom0 disables the VFs while VF 1 is in a guest: Xen removes both (rc 0) and takes VF 1 from the guest; destroy is still clean")
    void vfsDisabledWhileOneIsAssigned() {
        Domain d = guest();
        ProbedFunction f = new ReferenceGuest(d).probe().functions().get(0);
        long bar0 = f.bars().get(0).address();
        HardwareDomainGuest.SriovDisabled r = new HardwareDomainGuest(host.xen().hardwareDomain()).disableSriov(PF);
        assertThat(r.vfsRemoved()).containsOnlyKeys(VF0, VF1);
        assertThat(r.vfsRemoved().values()).allSatisfy(rc -> assertThat(rc.isOk()).isTrue());
        assertThat(host.pci().pdevs().find(VF1)).isEmpty();
        assertThat(pf.sriov().orElseThrow().virtualFunctions()).isEmpty();
        // The guest's slot is empty and its BAR pages are gone from the p2m.
        assertThat(cfgRead(d, PciRegs.PCI_VENDOR_ID, 4)).isEqualTo(0xFFFFFFFF);
        assertThat(d.p2m().lookup(bar0) instanceof org.xenpci.core.P2m.DirectMmio).as("BAR0 still mapped").isFalse();
        assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
        libxl.destroyDomain(d.domid());
        // libxl still had the VF in the guest's config: its deassign finds no pdev (deassign_device).
        assertThat(libxl.log()).anySatisfy(l -> assertThat(l.message()).contains("xc_deassign_device failed: ENODEV"));
        assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
        // With no VF left, dom0 may now remove the PF (pci_remove_device: no -EBUSY).
        Vcpu dom0 = host.xen().hardwareDomain().vcpu(0);
        assertThat(org.xenpci.armpci.PhysdevCalls.pciDeviceRemove(dom0, HardwareDomainGuest.scratchPage(dom0), PF).isOk()).isTrue();
    }

    @Test
    @DisplayName("disabling VFs that are not enabled removes nothing; a function without SR-IOV is a typed refusal")
    void disableSriovEdges() {
        HardwareDomainGuest dom0 = new HardwareDomainGuest(host.xen().hardwareDomain());
        assertThat(dom0.disableSriov(PF).vfsRemoved()).hasSize(2);
        assertThat(dom0.disableSriov(PF).vfsRemoved()).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> dom0.disableSriov(Sbdf.parse("0000:00:02.0")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no SR-IOV capability");
    }

    @Test
    @DisplayName("attacker: a guest with VF 1 storms its config space and BARs and fires its vectors (seeded); it never maps VF 0's slice or the PF, VF 0's guest gets none of its MSIs, the PF's SR-IOV registers stay dom0's")
    void vfGuestConfigStorm() {
        Domain d = guest();
        ProbedFunction probed = new ReferenceGuest(d).probe().functions().get(0);
        Domain bystander = TestGuests.create(libxl, "bystander", 1, VF0.toString());
        new ReferenceGuest(bystander).probe();
        org.xenpci.armpci.PciConf conf = host.pci().conf();
        int pos = org.xenpci.armpci.VirtfnResources.of(conf, host.pci().pdevs().find(PF).orElseThrow(), VF1)
                .orElseThrow().sriovPosition();
        int[] pfBefore = new int[0x40 / 4];
        for (int i = 0; i < pfBefore.length; i++) {
            pfBefore[i] = conf.read32(PF, pos + 4 * i);
        }
        java.util.Random rnd = new java.util.Random(0x5EED_0010L);
        // Registers an attacker aims at: COMMAND, the six BARs, the ROM, and the capability area.
        int[] hot = {PciRegs.PCI_COMMAND, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24, PciRegs.PCI_ROM_ADDRESS, 0x40, 0x50, 0x70, 0xa0};
        IsolationAuditor auditor = new IsolationAuditor(host);
        for (int step = 0; step < 400; step++) {
            int size = new int[] {1, 2, 4}[rnd.nextInt(3)];
            int reg = rnd.nextInt(4) == 0 ? rnd.nextInt(0x1000) & ~(size - 1) : hot[rnd.nextInt(hot.length)];
            int value = rnd.nextInt(3) == 0 ? -1 : rnd.nextInt();
            if (reg == PciRegs.PCI_COMMAND && rnd.nextBoolean()) {
                value |= PciRegs.PCI_COMMAND_MEMORY;
            }
            Vcpu v = d.vcpu(0);
            if (rnd.nextInt(4) == 0) {
                // Into the VF's BARs where the probe placed them: MSI-X table (trapped) and registers.
                ProbedFunction.ProbedBar b = probed.bars().get(rnd.nextInt(probed.bars().size()));
                v.mmioWrite(b.address() + (rnd.nextLong(b.size()) & ~3L), 4, value);
            } else {
                v.mmioWrite(GUEST_CFG + reg, size, value);
            }
            v.takeDataAbort(); // an abort is an allowed answer; what matters is what it reached
            if (step % 10 == 9) {
                vf(1).signal(rnd.nextInt(4)); // whatever the guest left in its table
            }
            if (step % 20 == 19) {
                assertThat(auditor.check().violations()).as("step %d: write 0x%x/%d = 0x%x", step, reg, size, value).isEmpty();
            }
        }
        for (org.xenpci.core.P2m.DirectMmio m : d.p2m().mmioMappings()) {
            for (int bar : new int[] {0, 3}) {
                long lo = vf(0).barAddress(bar);
                assertThat(m.maddr() + m.size() <= lo || m.maddr() >= lo + 0x4000)
                        .as("guest 0x%x maps VF 0's BAR%d slice at 0x%x", m.gpa(), bar, lo).isTrue();
            }
            for (org.xenpci.armpci.hw.BarSpec b : pf.bars()) {
                long lo = pf.barAddress(b.index());
                assertThat(m.maddr() + m.size() <= lo || m.maddr() >= lo + b.size())
                        .as("guest 0x%x maps the PF's BAR%d", m.gpa(), b.index()).isTrue();
            }
        }
        for (int i = 0; i < pfBefore.length; i++) {
            assertThat(conf.read32(PF, pos + 4 * i)).as("PF SR-IOV register 0x%x", pos + 4 * i).isEqualTo(pfBefore[i]);
        }
        assertThat(bystander.vcpu(0).pendingInterrupts()).as("VF 1's MSIs at VF 0's guest").isEmpty();
        libxl.destroyDomain(d.domid());
        assertThat(auditor.check().violations()).isEmpty();
    }

    @Test
    @DisplayName("VFs removed while VF 1 is in a guest, the guest destroyed, VFs enabled again: the new VF 1's DMA reaches none of the dead guest's memory")
    void noStaleStreamAfterVfRemoval() {
        Domain d = guest();
        new ReferenceGuest(d).probe();
        cfgWrite(d, PciRegs.PCI_COMMAND, 2, cfgRead(d, PciRegs.PCI_COMMAND, 2) | PciRegs.PCI_COMMAND_MASTER);
        new HardwareDomainGuest(host.xen().hardwareDomain()).disableSriov(PF);
        libxl.destroyDomain(d.domid());
        org.xenpci.armpci.PciConf conf = host.pci().conf();
        int pos = pf.sriov().orElseThrow().position();
        conf.write16(PF, pos + org.xenpci.armpci.VirtfnResources.CTRL, 0x0009);
        PciFunction again = vf(1);
        conf.write16(VF1, PciRegs.PCI_COMMAND, PciRegs.PCI_COMMAND_MASTER);
        DmaResult r = again.dmaWrite(GuestMemoryMap.GUEST_RAM0_BASE + 0x2000, 8, 0x1122334455667788L);
        assertThat(r).as("DMA of a VF Xen no longer knows").isInstanceOf(DmaResult.Fault.class);
        assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
    }

    @Test
    @DisplayName("attacker: a guest given the PF cannot reach its SR-IOV capability: VF Enable, NumVFs and the VF BARs stay as dom0 left them")
    void pfGuestCannotTouchSriov() {
        long vf1Bar0 = vf(1).barAddress(0);
        Domain a = TestGuests.create(libxl, "pf", 1, PF.toString());
        // Assigning the PF reset it (FLR), which clears VF Enable; dom0's reset restored the VFs
        // as Linux's pci_restore_iov_state does, at the same VF BARs.
        assertThat(libxl.resets()).anySatisfy(r -> assertThat(r.sbdf()).isEqualTo(PF));
        assertThat(pf.sriov().orElseThrow().virtualFunctions()).hasSize(2);
        assertThat(vf(1).barAddress(0)).isEqualTo(vf1Bar0);
        org.xenpci.armpci.PciConf conf = host.pci().conf();
        int pos = pf.sriov().orElseThrow().position();
        int[] before = new int[0x40 / 4];
        for (int i = 0; i < before.length; i++) {
            before[i] = conf.read32(PF, pos + 4 * i);
        }
        Vcpu v = a.vcpu(0);
        for (int off = 0; off < 0x40; off += 4) {
            v.mmioWrite(GUEST_CFG + pos + off, 4, off == 0x08 ? 0 : -1);
            v.takeDataAbort();
        }
        for (int i = 0; i < before.length; i++) {
            assertThat(conf.read32(PF, pos + 4 * i)).as("PF SR-IOV register 0x%x", pos + 4 * i).isEqualTo(before[i]);
        }
        assertThat(pf.sriov().orElseThrow().virtualFunctions()).hasSize(2);
    }
}
