package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.core.Domain;
import org.xenpci.core.P2m;
import org.xenpci.core.Profile;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.Trace;
import org.xenpci.libxl.audit.IsolationAuditor;
import org.xenpci.libxl.guest.HardwareDomainGuest;
import org.xenpci.libxl.guest.ProbedFunction;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.vpci.MsixState;
import org.xenpci.vpci.VpciBar;
import org.xenpci.vpci.VpciDevice;

/**
 * The hardware domain's own use of an SR-IOV VF's MSI-X (Linux's {@code igbvf} bound in dom0):
 * the igb-like PF at 00:05.0 with 2 VFs (00:15.0, 00:15.2) enabled by dom0 at boot.
 *
 * <p>Upstream Xen's vPCI sizes a VF's own BAR registers, which read 0
 * ({@code xen/drivers/vpci/header.c: vpci_init_header}), so {@code init_msix}
 * ({@code xen/drivers/vpci/msix.c}) finds the table BIR on an empty BAR, fails with -ENODEV and
 * {@code vpci_init_capabilities} masks the capability: dom0 cannot see it. Under {@code full}
 * ({@code Profile.vpciGuestVirtfn}) the hwdom's header takes the VF's BARs from the PF
 * ({@code read_pci_mem_bar}), maps them while VF MSE is set, and MSI-X is emulated as for any
 * function. The {@code upstream} profile has no hwdom vPCI on Arm: dom0 programs the VF's table
 * in hardware directly.
 */
@DisplayName("SR-IOV: dom0 uses a VF's MSI-X (hardware domain vPCI for VFs)")
class Dom0VfMsixScenarioTest {
    static final Sbdf PF = SriovScenarioTest.PF;
    static final Sbdf VF0 = SriovScenarioTest.VF0;
    static final Sbdf VF1 = SriovScenarioTest.VF1;

    final PciFunction pf = DeviceCatalog.QEMU_IGB.newFunction();

    XenHost boot(Profile profile, Trace trace) {
        return XenHost.boot(SriovScenarioTest.platform(pf), profile, trace, Map.of(PF, 2));
    }

    PciFunction vf(int n) {
        return pf.sriov().orElseThrow().virtualFunctions().get(n);
    }

    static ProbedFunction probed(XenHost host, Sbdf sbdf) {
        return host.enumeration().functions().stream().map(HardwareDomainGuest.Reported::function)
                .filter(f -> f.sbdf().equals(sbdf)).findFirst().orElseThrow();
    }

    static List<String> warnings(Trace trace, Sbdf sbdf) {
        return trace.events(Events.Warning.class).stream().map(Events.Warning::message)
                .filter(m -> m.startsWith(sbdf.toString())).toList();
    }

    /** dom0's config read of {@code sbdf} through the host ECAM window (dom0 is direct-mapped). */
    static int dom0CfgRead(XenHost host, Sbdf sbdf, int reg, int size) {
        Domain dom0 = host.xen().hardwareDomain();
        long ecam = host.platform().hostBridges().values().iterator().next().ecamBase();
        long addr = ecam + ((long) sbdf.bus() << 20 | (long) sbdf.devfn() << 12 | reg);
        long v = dom0.vcpu(0).mmioRead(addr, size);
        assertThat(dom0.vcpu(0).takeDataAbort()).as("dom0 config read 0x%x of %s", reg, sbdf).isNull();
        return (int) v;
    }

    /** The MSI-X capability offset dom0 finds walking {@code sbdf}'s capability list, or 0. */
    static int dom0FindsMsix(XenHost host, Sbdf sbdf) {
        int pos = dom0CfgRead(host, sbdf, PciRegs.PCI_CAPABILITY_LIST, 1);
        for (int ttl = 48; ttl > 0 && pos >= 0x40; ttl--) {
            int header = dom0CfgRead(host, sbdf, pos & ~3, 2);
            if ((header & 0xff) == PciRegs.PCI_CAP_ID_MSIX) {
                return pos & ~3;
            }
            pos = header >>> 8;
        }
        return 0;
    }

    @Test
    @DisplayName("full: no 'hiding it' warning for either VF; dom0 still finds the VF's MSI-X capability and vPCI emulates it")
    void fullKeepsVfMsix() {
        Trace trace = new Trace();
        XenHost host = boot(Profile.FULL, trace);
        for (Sbdf vf : List.of(VF0, VF1)) {
            assertThat(warnings(trace, vf)).as("warnings for %s", vf).noneMatch(m -> m.contains("hiding it"));
            assertThat(dom0FindsMsix(host, vf)).as("MSI-X capability of %s in dom0's view", vf).isNotZero();
            VpciDevice dev = host.vpci().device(host.xen().hardwareDomain(), vf);
            assertThat(MsixState.of(dev)).as("hwdom MSI-X emulation of %s", vf).isNotNull();
        }
    }

    @Test
    @DisplayName("full: hwdom's VF BARs are the PF's VF BAR slices, mapped 1:1 for dom0 with the MSI-X table page trapped; the VF's BAR registers still read 0")
    void fullMapsVfBarsWithTableTrapped() {
        XenHost host = boot(Profile.FULL, new Trace());
        Domain dom0 = host.xen().hardwareDomain();
        VpciDevice dev = host.vpci().device(dom0, VF1);
        VpciBar bar0 = dev.header().bar(0);
        assertThat(bar0.type()).isEqualTo(VpciBar.Type.MEM64_LO);
        assertThat(bar0.addr()).isEqualTo(vf(1).barAddress(0));
        assertThat(bar0.size()).isEqualTo(0x4000);
        assertThat(dev.header().bar(3).addr()).isEqualTo(vf(1).barAddress(3));
        assertThat(dev.header().barsMapped()).isTrue();
        assertThat(dom0CfgRead(host, VF1, PciRegs.PCI_BASE_ADDRESS_0, 4)).isZero();
        assertThat(dom0CfgRead(host, VF1, PciRegs.PCI_VENDOR_ID, 2)).isEqualTo(0xffff);

        int pos = dom0FindsMsix(host, VF1);
        int tableReg = dom0CfgRead(host, VF1, pos + PciRegs.PCI_MSIX_TABLE, 4);
        long table = dev.header().bar(tableReg & PciRegs.PCI_MSIX_BIR_MASK).addr() + (tableReg & ~PciRegs.PCI_MSIX_BIR_MASK);
        assertThat(dom0.p2m().lookup(table)).isInstanceOf(P2m.Trapped.class);
        // A page of the other BAR that holds no MSI-X structure is plain 1:1 device memory.
        long other = (tableReg & PciRegs.PCI_MSIX_BIR_MASK) == 0 ? dev.header().bar(3).addr() : bar0.addr();
        assertThat(dom0.p2m().lookup(other)).isInstanceOfSatisfying(P2m.DirectMmio.class,
                m -> assertThat(m.maddr() - m.gpa()).isZero());
    }

    @Test
    @DisplayName("full: dom0 sets up VF 1's MSI-X as Linux does; VF 1 fires entry 1 and the LPI is pending on dom0's vCPU; VF 0 (untouched) sends nothing")
    void fullDom0VfMsixLandsAsLpi() {
        XenHost host = boot(Profile.FULL, new Trace());
        List<ProbedFunction.MsixVector> vectors = host.hardwareDomainGuest().setUpMsix(probed(host, VF1));
        assertThat(vectors).hasSizeGreaterThan(1);
        ProbedFunction.MsixVector v = vectors.get(1);
        MsixState s = MsixState.of(host.vpci().device(host.xen().hardwareDomain(), VF1));
        assertThat(s.enabled()).isTrue();
        assertThat(s.entries().get(1).bound()).isTrue();
        assertThat(vf(1).signal(v.entry())).isEqualTo(SignalResult.SENT);
        assertThat(host.xen().hardwareDomain().vcpu(v.vcpu()).pendingInterrupts()).containsExactly(v.lpi());
        assertThat(vf(0).signal(v.entry())).isNotEqualTo(SignalResult.SENT);
        assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
    }

    @Test
    @DisplayName("full: a COMMAND read-modify-write on the VF (MEMORY reads 0) leaves its BARs mapped; its decoding is the PF's VF MSE")
    void vfCommandWriteDoesNotUnmap() {
        XenHost host = boot(Profile.FULL, new Trace());
        Domain dom0 = host.xen().hardwareDomain();
        long ecam = host.platform().hostBridges().values().iterator().next().ecamBase();
        long cmdAddr = ecam + ((long) VF1.bus() << 20 | (long) VF1.devfn() << 12 | PciRegs.PCI_COMMAND);
        int cmd = dom0CfgRead(host, VF1, PciRegs.PCI_COMMAND, 2);
        assertThat(cmd & PciRegs.PCI_COMMAND_MEMORY).isZero();
        dom0.vcpu(0).mmioWrite(cmdAddr, 2, cmd | PciRegs.PCI_COMMAND_INTX_DISABLE);
        assertThat(dom0.vcpu(0).takeDataAbort()).isNull();
        dom0.vcpu(0).processPendingWork();
        assertThat(host.vpci().device(dom0, VF1).header().barsMapped()).isTrue();
        assertThat(dom0.p2m().lookup(vf(1).barAddress(0))).isInstanceOf(P2m.DirectMmio.class);
        assertThat(dom0CfgRead(host, VF1, PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_INTX_DISABLE).isNotZero();
    }

    @Test
    @DisplayName("full: a VF dom0 used for MSI-X, then passed to a guest: dom0's vectors stop, its BARs leave dom0, the guest's own MSI-X lands on the guest only")
    void dom0VfMsixThenPassthrough() {
        XenHost host = boot(Profile.FULL, new Trace());
        Domain dom0 = host.xen().hardwareDomain();
        ProbedFunction.MsixVector d0v = host.hardwareDomainGuest().setUpMsix(probed(host, VF1)).get(1);
        assertThat(vf(1).signal(d0v.entry())).isEqualTo(SignalResult.SENT);
        assertThat(dom0.vcpu(d0v.vcpu()).acknowledge(d0v.lpi())).isTrue();

        Domain g = TestGuests.create(new Libxl(host), "vf", 2, VF1.toString());
        assertThat(host.vpci().device(dom0, VF1)).as("hwdom vPCI state gone").isNull();
        assertThat(dom0.p2m().lookup(vf(1).barAddress(0))).as("VF BAR out of dom0's p2m").isNull();
        assertThat(dom0.p2m().lookup(vf(1).barAddress(3))).isNull();
        ProbedFunction f = new ReferenceGuest(g).probe().functions().get(0);
        ProbedFunction.MsixVector gv = f.msixVectors().get(1);
        assertThat(vf(1).signal(gv.entry())).isEqualTo(SignalResult.SENT);
        assertThat(g.vcpu(gv.vcpu()).pendingInterrupts()).containsExactly(gv.lpi());
        assertThat(dom0.vcpu(d0v.vcpu()).pendingInterrupts()).doesNotContain(d0v.lpi());
        assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
    }

    @Test
    @DisplayName("vpciGuestVirtfn off (hwdom vPCI on): Xen's behaviour, init of MSI-X fails -ENODEV and is hidden; dom0 finds no MSI-X and sets up nothing")
    void withoutTheSwitchXenMasksVfMsix() {
        Trace trace = new Trace();
        XenHost host = boot(Profile.FULL.toBuilder().name("no-vf-vpci").vpciGuestVirtfn(false).build(), trace);
        assertThat(warnings(trace, VF1)).anyMatch(m -> m.contains("capability 0x11 failed (rc -19), hiding it"));
        assertThat(dom0FindsMsix(host, VF1)).isZero();
        assertThat(host.vpci().device(host.xen().hardwareDomain(), VF1).header().bar(0).type())
                .isEqualTo(VpciBar.Type.EMPTY);
        assertThat(host.hardwareDomainGuest().setUpMsix(probed(host, VF1))).isEmpty();
    }

    @Test
    @DisplayName("upstream: no hwdom vPCI on Arm; dom0 programs the VF's MSI-X table in hardware and the fired vector is an LPI on dom0 (hwdom vITS)")
    void upstreamDom0ProgramsHardware() {
        Trace trace = new Trace();
        XenHost host = boot(Profile.UPSTREAM, trace);
        assertThat(host.vpci().device(host.xen().hardwareDomain(), VF1)).isNull();
        assertThat(warnings(trace, VF1)).noneMatch(m -> m.contains("hiding it"));
        List<ProbedFunction.MsixVector> vectors = host.hardwareDomainGuest().setUpMsix(probed(host, VF1));
        assertThat(vectors).hasSizeGreaterThan(1);
        ProbedFunction.MsixVector v = vectors.get(1);
        assertThat(vf(1).signal(v.entry())).isEqualTo(SignalResult.SENT);
        assertThat(host.xen().hardwareDomain().vcpu(v.vcpu()).pendingInterrupts()).containsExactly(v.lpi());
    }
}
