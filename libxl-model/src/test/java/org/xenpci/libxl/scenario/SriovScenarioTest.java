package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.Pdev;
import org.xenpci.armpci.Physdev;
import org.xenpci.armpci.PhysdevCalls;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SriovCapability;
import org.xenpci.armpci.platform.Platform;
import org.xenpci.armpci.platform.PlatformFile;
import org.xenpci.core.Errno;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.Profile;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.Vcpu;
import org.xenpci.core.fdt.FdtReader;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.audit.IsolationAuditor;
import org.xenpci.libxl.guest.HardwareDomainGuest;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;

/**
 * An SR-IOV PF (QEMU igb-like, TotalVFs 8, offset 0x80, stride 2) at 00:05.0 on the default
 * board: dom0 enables 2 VFs (00:15.0, 00:15.2) and reports them with XEN_PCI_DEV_VIRTFN; Xen
 * links them to the PF ({@code xen/drivers/passthrough/pci.c: pci_add_device}) and refuses to
 * remove the PF while they exist ({@code pci_remove_device}).
 */
@DisplayName("SR-IOV end to end: a PF with 2 VFs, dom0 reporting them, Xen's PF/VF rules")
class SriovScenarioTest {
    static final Sbdf PF = Sbdf.parse("0000:00:05.0");
    static final Sbdf VF0 = Sbdf.parse("0000:00:15.0");
    static final Sbdf VF1 = Sbdf.parse("0000:00:15.2");

    final PciFunction pf = DeviceCatalog.QEMU_IGB.newFunction();
    final XenHost host = XenHost.boot(platform(pf), Profile.FULL, new Trace(), Map.of(PF, 2));

    static Platform platform(PciFunction pf) {
        PlatformFile file = DefaultPlatform.file();
        Platform.Builder b = Platform.builder(FdtReader.read(file.hostDtb())).cmdline(file.cmdline());
        b.device(Sbdf.parse("0000:00:02.0"), DeviceCatalog.QEMU_NVME.newFunction());
        b.device(PF, pf);
        return b.build();
    }

    Pdev pdev(Sbdf s) {
        return host.pci().pdevs().find(s).orElseThrow(() -> new AssertionError(s + " unknown to Xen"));
    }

    @Test
    @DisplayName("dom0 enables 2 VFs and reports each with VIRTFN: vendor 8086, device 10ca, BARs carved from the VF BARs, both added")
    void dom0ReportsVfs() {
        HardwareDomainGuest.Enumeration e = host.enumeration();
        assertThat(e.sriovRefused()).isEmpty();
        assertThat(e.functions()).filteredOn(r -> r.function().sbdf().equals(VF0) || r.function().sbdf().equals(VF1))
                .hasSize(2).allSatisfy(r -> {
                    assertThat(r.addResult().isOk()).as("add %s", r.function().sbdf()).isTrue();
                    assertThat(r.function().vendor()).isEqualTo(0x8086);
                    assertThat(r.function().device()).isEqualTo(0x10ca);
                });
        SriovCapability sriov = pf.sriov().orElseThrow();
        assertThat(sriov.virtualFunctions()).hasSize(2);
        PciFunction vf1 = sriov.virtualFunctions().get(1);
        assertThat(vf1.requesterId()).isEqualTo(VF1.bus() << 8 | VF1.devfn());
        long vfBar0 = e.functions().stream().filter(r -> r.function().sbdf().equals(VF1)).findFirst().orElseThrow()
                .function().bars().get(0).address();
        assertThat(vfBar0).isNotZero().isEqualTo(vf1.barAddress(0));
        assertThat(host.platform().hostBridges().values().iterator().next().memoryTarget(vfBar0, false)).isSameAs(vf1);
    }

    @Test
    @DisplayName("Xen links each VF to its PF: is_virtfn, physfn = PF, the PF's VF list holds both")
    void xenLinksVfsToPf() {
        Pdev p = pdev(PF);
        Pdev v0 = pdev(VF0);
        Pdev v1 = pdev(VF1);
        assertThat(v0.isVirtfn()).isTrue();
        assertThat(v1.physfn()).isSameAs(p);
        assertThat(p.isVirtfn()).isFalse();
        assertThat(p.virtfns()).containsExactlyInAnyOrder(v0, v1);
        assertThat(v1.owner()).isSameAs(host.xen().hardwareDomain());
    }

    @Test
    @DisplayName("a VF whose PF Xen does not know is refused with -ENODEV and not kept")
    void vfWithoutPfRefused() {
        Vcpu dom0 = host.xen().hardwareDomain().vcpu(0);
        long scratch = HardwareDomainGuest.scratchPage(dom0);
        Sbdf vf2 = Sbdf.parse("0000:00:15.4");
        HypercallResult r = PhysdevCalls.pciDeviceAdd(dom0, scratch, vf2, Physdev.XEN_PCI_DEV_VIRTFN, 0, 0x30);
        assertThat(r.rc()).isEqualTo((long) Errno.ENODEV.rc());
        assertThat(host.pci().pdevs().find(vf2)).isEmpty();
    }

    @Test
    @DisplayName("removing a PF that still has VFs: -EBUSY, the PF and both VFs marked broken and kept; the VFs go first, then the PF")
    void removePfWithVfs() {
        Vcpu dom0 = host.xen().hardwareDomain().vcpu(0);
        long scratch = HardwareDomainGuest.scratchPage(dom0);
        HypercallResult r = PhysdevCalls.pciDeviceRemove(dom0, scratch, PF);
        assertThat(r.rc()).isEqualTo((long) Errno.EBUSY.rc());
        assertThat(pdev(PF).broken()).isTrue();
        assertThat(pdev(VF0).broken()).isTrue();
        assertThat(pdev(VF1).broken()).isTrue();
        assertThat(PhysdevCalls.pciDeviceRemove(dom0, scratch, VF0).isOk()).isTrue();
        assertThat(PhysdevCalls.pciDeviceRemove(dom0, scratch, VF1).isOk()).isTrue();
        assertThat(pdev(PF).virtfns()).isEmpty();
        assertThat(PhysdevCalls.pciDeviceRemove(dom0, scratch, PF).isOk()).isTrue();
        assertThat(host.pci().pdevs().find(PF)).isEmpty();
    }

    @Test
    @DisplayName("a PF dom0 cannot enable (not SR-IOV capable, or more than TotalVFs) is listed as refused and nothing is reported")
    void refusedRequests() {
        Sbdf nvme = Sbdf.parse("0000:00:02.0");
        XenHost h = XenHost.boot(platform(DeviceCatalog.QEMU_IGB.newFunction()), Profile.FULL, new Trace(),
                Map.of(PF, 9, nvme, 1, Sbdf.parse("0000:00:1f.0"), 1));
        assertThat(h.enumeration().sriovRefused()).containsExactlyInAnyOrder(PF, nvme, Sbdf.parse("0000:00:1f.0"));
        assertThat(h.pci().pdevs().find(VF0)).isEmpty();
        assertThat(new IsolationAuditor(h).check().violations()).isEmpty();
    }

    @Test
    @DisplayName("with vpciGuestVirtfn off, a VF passed to a guest is refused visibly: -EOPNOTSUPP, the VF stays assignable")
    void vfToGuestRefusedVisiblyWithoutTheSwitch() {
        XenHost h = XenHost.boot(platform(DeviceCatalog.QEMU_IGB.newFunction()),
                Profile.FULL.toBuilder().name("no-vf-vpci").vpciGuestVirtfn(false).build(), new Trace(), Map.of(PF, 2));
        org.xenpci.libxl.toolstack.Libxl libxl = new org.xenpci.libxl.toolstack.Libxl(h);
        org.xenpci.libxl.config.XlConfig c = TestGuests.config("vf", 1, VF1.toString());
        libxl.makeAssignable(c);
        org.xenpci.libxl.toolstack.LibxlException e = org.assertj.core.api.Assertions.catchThrowableOfType(
                org.xenpci.libxl.toolstack.LibxlException.class, () -> libxl.createDomain(c));
        assertThat(e).isNotNull();
        assertThat(libxl.log()).anySatisfy(l -> assertThat(l.message()).contains("xc_assign_device failed: EOPNOTSUPP"));
        assertThat(h.pci().pdevs().find(VF1).orElseThrow().owner()).isSameAs(h.xen().domIo());
        assertThat(libxl.pciAssignableList()).extracting(a -> a.sbdf()).contains(VF1);
        assertThat(new IsolationAuditor(h).check().violations()).isEmpty();
    }

    @Test
    @DisplayName("Xen sized the PF's VF BARs when dom0 added it (vf_rlen): 16 KiB each for VF BAR0 and VF BAR3, nothing else")
    void pfVfBarsSizedAtAdd() {
        Pdev p = pdev(PF);
        assertThat(p.vfBarsSized()).isTrue();
        assertThat(new long[] {p.vfRlen(0), p.vfRlen(1), p.vfRlen(2), p.vfRlen(3), p.vfRlen(4), p.vfRlen(5)})
                .containsExactly(0x4000, 0, 0, 0x4000, 0, 0);
        assertThat(pdev(VF0).vfBarsSized()).isFalse();
    }

    @Test
    @DisplayName("read_pci_mem_bar for VFs: VF 1 is index 1 at VF BAR + 16 KiB; an odd routing ID, a VF past NumVFs and VFs off give nothing")
    void virtfnResources() {
        org.xenpci.armpci.PciConf conf = host.pci().conf();
        org.xenpci.armpci.VirtfnResources r = org.xenpci.armpci.VirtfnResources.of(conf, pdev(PF), VF1).orElseThrow();
        assertThat(r.vfIndex()).isEqualTo(1);
        assertThat(r.vendorId()).isEqualTo(0x8086);
        assertThat(r.deviceId()).isEqualTo(0x10ca);
        assertThat(r.bars()).extracting(org.xenpci.armpci.VirtfnResources.Bar::kind).containsExactly(
                org.xenpci.armpci.VirtfnResources.Kind.MEM64_LO, org.xenpci.armpci.VirtfnResources.Kind.MEM64_HI,
                org.xenpci.armpci.VirtfnResources.Kind.EMPTY, org.xenpci.armpci.VirtfnResources.Kind.MEM64_LO,
                org.xenpci.armpci.VirtfnResources.Kind.MEM64_HI, org.xenpci.armpci.VirtfnResources.Kind.EMPTY);
        PciFunction vf1 = pf.sriov().orElseThrow().virtualFunctions().get(1);
        assertThat(r.bars().get(0).address()).isEqualTo(vf1.barAddress(0));
        assertThat(r.bars().get(3).address()).isEqualTo(vf1.barAddress(3));
        assertThat(r.bars().get(3).size()).isEqualTo(0x4000);
        assertThat(r.bars().get(0).prefetchable()).isTrue();
        assertThat(org.xenpci.armpci.VirtfnResources.of(conf, pdev(PF), Sbdf.parse("0000:00:15.1"))).isEmpty();
        assertThat(org.xenpci.armpci.VirtfnResources.of(conf, pdev(PF), Sbdf.parse("0000:00:15.4"))).isEmpty();
        assertThat(org.xenpci.armpci.VirtfnResources.of(conf, pdev(PF), Sbdf.parse("0000:00:05.0"))).isEmpty();
        int pos = r.sriovPosition();
        conf.write16(PF, pos + SriovCapability.CTRL, conf.read16(PF, pos + SriovCapability.CTRL) & ~SriovCapability.CTRL_MSE);
        assertThat(org.xenpci.armpci.VirtfnResources.of(conf, pdev(PF), VF1)).as("VF MSE clear").isEmpty();
    }

    @Test
    @DisplayName("upstream: no guest vPCI, so a VF in pci = [...] is assigned at the IOMMU and the guest's ECAM window aborts, as for any device")
    void upstreamVfToGuest() {
        XenHost h = XenHost.boot(platform(DeviceCatalog.QEMU_IGB.newFunction()), Profile.UPSTREAM, new Trace(), Map.of(PF, 2));
        org.xenpci.libxl.toolstack.Libxl libxl = new org.xenpci.libxl.toolstack.Libxl(h);
        org.xenpci.core.Domain d = TestGuests.create(libxl, "vf", 1, VF1.toString());
        assertThat(h.pci().pdevs().find(VF1).orElseThrow().owner()).isSameAs(d);
        d.vcpu(0).mmioRead(org.xenpci.vpci.ArmVpci.GUEST_VPCI_ECAM_BASE, 4);
        assertThat(d.vcpu(0).takeDataAbort()).isNotNull();
        assertThat(new IsolationAuditor(h).check().violations()).isEmpty();
    }

    @Test
    @DisplayName("the host with a PF and 2 VFs reported is clean for the isolation auditor")
    void auditorClean() {
        assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
    }
}
