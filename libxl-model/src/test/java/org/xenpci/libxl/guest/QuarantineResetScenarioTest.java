package org.xenpci.libxl.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.MsiMap;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.armpci.its.ItsNode;
import org.xenpci.core.Domain;
import org.xenpci.core.P2m;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.FunctionReset;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.LibxlDomain;
import org.xenpci.libxl.toolstack.ResetMethod;

/**
 * The breach: a guest programs MSI-X on the e1000e, turns memory decoding off (COMMAND =
 * MASTER only) and is destroyed. Whatever vPCI does to the table through the BAR then goes
 * nowhere; unless the device is reset on its way to quarantine, physical MSI-X stays enabled
 * with live entries, and the next guest that maps the device on its vITS receives LPIs it
 * never asked for. Libxl's reset (dom0's {@code pci_reset_function}, here the e1000e's PM
 * reset, then pciback's disable) closes it.
 */
@DisplayName("Scenario: a destroyed guest's MSI-X does not reach the next guest (reset on the way to quarantine)")
class QuarantineResetScenarioTest {
    private static final Sbdf NIC = Sbdf.of(0, 1, 0);
    /** e1000e: MSI-X table at BAR3 offset 0, 5 entries; MSI-X capability at 0xa0. */
    private static final int MSIX = 0xa0;
    private static final int ENTRIES = 5;

    private final XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
    private final Libxl libxl = new Libxl(host);
    private final PciFunction nic = host.platform().function(NIC).orElseThrow();

    private LibxlDomain create(String name) {
        XlConfig cfg = XlConfigParser.parse("name = \"" + name + "\"\nmemory = 1024\nvcpus = 1\ngic_version = \"v3\"\n"
                + "pci = [ \"" + NIC + "\" ]\n", name + ".cfg");
        libxl.makeAssignable(cfg);
        return libxl.createDomain(cfg);
    }

    @Test
    @DisplayName("guest 1 leaves MSI-X live with decoding off and is destroyed; guest 2 maps the device on its vITS and gets no LPI")
    void staleMsixDoesNotReachNextGuest() {
        long[] hostBars = {nic.barAddress(0), nic.barAddress(1), nic.barAddress(2), nic.barAddress(3), nic.barAddress(6)};

        // Guest 1: the reference guest probes, enables and sets up MSI-X through its vITS.
        LibxlDomain g1 = create("g1");
        ReferenceGuest.Probe p1 = new ReferenceGuest(g1.domain()).probe();
        assertThat(p1.functions()).hasSize(1);
        ProbedFunction f1 = p1.functions().get(0);
        assertThat(f1.msixVectors()).isNotEmpty();
        assertThat(nic.config().read(MSIX + PciRegs.PCI_MSIX_FLAGS, 2) & PciRegs.PCI_MSIX_FLAGS_ENABLE).isNotZero();
        assertThat(nic.barRead(3, PciRegs.PCI_MSIX_ENTRY_VECTOR_CTRL, 4)).as("entry 0 unmasked").isZero();
        assertThat(nic.signal(0)).isEqualTo(SignalResult.SENT);
        assertThat(g1.domain().vcpu(0).pendingInterrupts()).contains(f1.msixVectors().get(0).lpi());

        // ... then turns memory decoding off, leaving only bus mastering, and dies.
        PciHostNode node1 = p1.hostBridges().get(0);
        new EcamPort(g1.domain().vcpu(0), node1.cfgBase(), node1.cfgSize(), node1.busStart())
                .write(f1.sbdf().bus(), f1.sbdf().devfn(), PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MASTER);
        libxl.destroyDomain(g1.domid());

        // Dom0 reset it on its way to quarantine: the e1000e has no FLR, so the PM reset.
        List<FunctionReset> resets = libxl.resets();
        assertThat(resets.get(resets.size() - 1)).isEqualTo(new FunctionReset(NIC, ResetMethod.PM));
        assertThat(nic.config().read(MSIX + PciRegs.PCI_MSIX_FLAGS, 2) & PciRegs.PCI_MSIX_FLAGS_ENABLE)
                .as("physical MSI-X enable").isZero();
        for (int i = 0; i < ENTRIES; i++) {
            assertThat(nic.barRead(3, 16L * i + PciRegs.PCI_MSIX_ENTRY_VECTOR_CTRL, 4)).as("entry %d masked", i).isEqualTo(1L);
            assertThat(nic.barRead(3, 16L * i, 8)).as("entry %d address", i).isZero();
        }
        assertThat(nic.config().read(PciRegs.PCI_COMMAND, 2)
                & (PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_IO | PciRegs.PCI_COMMAND_MASTER)).isZero();
        assertThat(new long[] {nic.barAddress(0), nic.barAddress(1), nic.barAddress(2), nic.barAddress(3), nic.barAddress(6)})
                .as("dom0's BAR and ROM addresses restored").containsExactly(hostBars);

        // Guest 2: probes and enables the device (MASTER on), maps it on its vITS, never enables MSI-X.
        LibxlDomain g2 = create("g2");
        Domain d2 = g2.domain();
        Vcpu v2 = d2.vcpu(0);
        PciHostNode node2 = PciHostNode.find(d2.deviceTree()).get(0);
        EcamPort port2 = new EcamPort(v2, node2.cfgBase(), node2.cfgSize(), node2.busStart());
        PciProbe probe2 = new PciProbe(port2, node2, 0);
        ProbedFunction f2 = probe2.scanAndAssign().get(0);
        probe2.enable(f2);
        assertThat(port2.read(f2.sbdf().bus(), f2.sbdf().devfn(), PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MASTER)
                .isNotZero();
        FdtNode vpciNode = d2.deviceTree().node(node2.path()).orElseThrow();
        MsiMap.Translation t = MsiMap.of(cells(vpciNode, "msi-map"), cells(vpciNode, "msi-map-mask"),
                cells(vpciNode, "msi-parent")).map(f2.sbdf().bus() << 8 | f2.sbdf().devfn()).orElseThrow();
        ItsNode itsNode = ItsNode.find(d2.deviceTree()).stream()
                .filter(n -> n.phandle() == t.controllerPhandle()).findFirst().orElseThrow();
        GuestIts its = new GuestIts(v2, itsNode.base(), firstRam(d2));
        assertThat(its.init()).isTrue();
        assertThat(its.mapDevice(t.deviceId(), ENTRIES)).isEqualTo(GuestIts.FIRST_LPI);

        // The device raises every vector: nothing is enabled, nothing reaches guest 2.
        for (int i = 0; i < ENTRIES; i++) {
            assertThat(nic.signal(i)).as("vector %d", i).isEqualTo(SignalResult.DISABLED);
        }
        assertThat(v2.pendingInterrupts()).isEmpty();
    }

    @Test
    @DisplayName("the NVMe is reset by FLR on destroy; every reset of both flows is recorded with its method")
    void nvmeUsesFlr() {
        Sbdf nvme = Sbdf.of(0, 2, 0);
        XlConfig cfg = XlConfigParser.parse("name = \"g\"\nmemory = 1024\nvcpus = 1\npci = [ \"" + nvme + "\" ]\n", "g.cfg");
        libxl.makeAssignable(cfg);
        PciFunction fn = host.platform().function(nvme).orElseThrow();
        long bar0 = fn.barAddress(0);
        assertThat(bar0).as("dom0 placed the 64-bit BAR0").isNotZero();
        LibxlDomain g = libxl.createDomain(cfg);
        libxl.destroyDomain(g.domid());
        assertThat(fn.barAddress(0)).as("restored after both FLRs").isEqualTo(bar0);
        assertThat(fn.config().read(PciRegs.PCI_COMMAND, 2)
                & (PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_MASTER)).isZero();
        assertThat(libxl.resets()).containsExactly(new FunctionReset(nvme, ResetMethod.FLR),
                new FunctionReset(nvme, ResetMethod.FLR));
        assertThat(libxl.log()).noneMatch(e -> e.message().contains("doesn't support reset"));
    }

    @Test
    @DisplayName("a function without a reset method (the serial function, conventional PCI) is logged as libxl does and still disabled")
    void noResetMethodLoggedAndDisabled() {
        Sbdf serial = Sbdf.of(0, 4, 1);
        PciFunction fn = host.platform().function(serial).orElseThrow();
        fn.config().write(PciRegs.PCI_COMMAND, 2, fn.config().read(PciRegs.PCI_COMMAND, 2) | PciRegs.PCI_COMMAND_MASTER);
        XlConfig cfg = XlConfigParser.parse("name = \"g\"\nmemory = 1024\nvcpus = 1\npci = [ \"" + serial + "\" ]\n", "g.cfg");
        libxl.makeAssignable(cfg);
        libxl.createDomain(cfg);
        assertThat(libxl.resets()).containsExactly(new FunctionReset(serial, ResetMethod.NONE));
        assertThat(libxl.log()).anyMatch(e -> e.message()
                .equals("The kernel doesn't support reset from sysfs for PCI device 0000:00:04.1"));
        assertThat(fn.config().read(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MASTER).as("pciback cleared MASTER").isZero();
    }

    private static int[] cells(FdtNode n, String name) {
        return n.property(name).map(FdtProperty::asCells).orElse(null);
    }

    private static long firstRam(Domain d) {
        for (P2m.Entry e : d.p2m().entries()) {
            if (e instanceof P2m.Ram) {
                return e.gpa();
            }
        }
        throw new AssertionError(d + " has no RAM");
    }
}
