package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.PdevType;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.platform.Platform;
import org.xenpci.armpci.platform.PlatformFile;
import org.xenpci.core.Profile;
import org.xenpci.core.fdt.FdtReader;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.Trace;
import org.xenpci.libxl.config.LibxlError;
import org.xenpci.libxl.guest.HardwareDomainGuest;
import org.xenpci.libxl.guest.ProbedFunction;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.LibxlException;

/**
 * A TI XIO3130 switch (catalog images) on the default board: upstream port at 00:01.0, two
 * downstream ports, an NVMe behind the first and a modern virtio-net (a 32-bit and a 64-bit
 * prefetchable BAR) behind the second. Firmware left every
 * bus number at 0, so dom0's probe numbers the switch depth-first as Linux's
 * {@code pci_scan_bridge} does, programs the windows bottom-up and reports parents before
 * children with PHYSDEVOP_pci_device_add; Xen classifies both kinds of port DEV_TYPE_PCIe_BRIDGE
 * ({@code xen/drivers/passthrough/pci.c: pdev_type}).
 */
@DisplayName("PCIe switch: dom0 numbers it, programs its windows, reports everything behind it; its ports are not passed through")
class PcieSwitchScenarioTest {
    static final Sbdf UP = Sbdf.parse("0000:00:01.0");
    static final Sbdf DOWN0 = Sbdf.parse("0000:01:00.0");
    static final Sbdf DOWN1 = Sbdf.parse("0000:01:01.0");
    static final Sbdf NVME = Sbdf.parse("0000:02:00.0");
    static final Sbdf NET = Sbdf.parse("0000:03:00.0");

    final PciFunction up = DeviceCatalog.XIO3130_UPSTREAM.newFunction();
    final PciFunction down0 = DeviceCatalog.XIO3130_DOWNSTREAM.newFunction();
    final PciFunction down1 = DeviceCatalog.XIO3130_DOWNSTREAM.newFunction();
    final PciFunction nvme = DeviceCatalog.QEMU_NVME.newFunction();
    final PciFunction net = DeviceCatalog.VIRTIO_NET_MODERN.newFunction();
    final XenHost host = XenHost.boot(platform(), Profile.FULL, new Trace(), Map.of());

    private Platform platform() {
        // Placement reads the bus numbers once, to know which bridge a function sits behind ...
        setBuses(up, 0, 1, 3);
        setBuses(down0, 1, 2, 2);
        setBuses(down1, 1, 3, 3);
        PlatformFile file = DefaultPlatform.file();
        Platform p = Platform.builder(FdtReader.read(file.hostDtb())).cmdline(file.cmdline())
                .device(UP, up).device(DOWN0, down0).device(NVME, nvme).device(DOWN1, down1).device(NET, net).build();
        // ... then the switch powers up unnumbered, as after a reset: dom0 has to number it.
        for (PciFunction port : List.of(up, down0, down1)) {
            setBuses(port, 0, 0, 0);
        }
        return p;
    }

    private static void setBuses(PciFunction bridge, int primary, int secondary, int subordinate) {
        bridge.config().write(PciRegs.PCI_PRIMARY_BUS, 1, primary);
        bridge.config().write(PciRegs.PCI_SECONDARY_BUS, 1, secondary);
        bridge.config().write(PciRegs.PCI_SUBORDINATE_BUS, 1, subordinate);
    }

    private ProbedFunction found(Sbdf s) {
        return host.enumeration().functions().stream().map(HardwareDomainGuest.Reported::function)
                .filter(f -> f.sbdf().equals(s)).findFirst().orElseThrow(() -> new AssertionError(s + " not found by dom0"));
    }

    @Test
    @DisplayName("dom0 numbers the unnumbered switch depth-first (1..3, 2, 3) and reports all five functions, parents first, each accepted")
    void dom0NumbersAndReports() {
        HardwareDomainGuest.Enumeration e = host.enumeration();
        assertThat(e.functions()).extracting(r -> r.function().sbdf()).containsExactly(UP, DOWN0, NVME, DOWN1, NET);
        assertThat(e.functions()).allSatisfy(r -> assertThat(r.addResult().isOk()).as("add %s", r.function().sbdf()).isTrue());
        assertThat(List.of(up.primaryBus(), up.secondaryBus(), up.subordinateBus())).containsExactly(0, 1, 3);
        assertThat(List.of(down0.primaryBus(), down0.secondaryBus(), down0.subordinateBus())).containsExactly(1, 2, 2);
        assertThat(List.of(down1.primaryBus(), down1.secondaryBus(), down1.subordinateBus())).containsExactly(1, 3, 3);
        assertThat(found(UP).secondaryBus()).isEqualTo(1);
        assertThat(found(UP).subordinateBus()).isEqualTo(3);
        assertThat(found(NVME).vendor()).isEqualTo(0x1b36);
        assertThat(found(NET).device()).isEqualTo(0x1041);
        assertThat(e.configAborts()).isZero();
    }

    @Test
    @DisplayName("Xen: both kinds of switch port are DEV_TYPE_PCIe_BRIDGE, the functions behind them PCIe endpoints")
    void xenClassifies() {
        assertThat(host.pci().pdevs().find(UP).orElseThrow().type()).isEqualTo(PdevType.PCIE_BRIDGE);
        assertThat(host.pci().pdevs().find(DOWN0).orElseThrow().type()).isEqualTo(PdevType.PCIE_BRIDGE);
        assertThat(host.pci().pdevs().find(DOWN1).orElseThrow().type()).isEqualTo(PdevType.PCIE_BRIDGE);
        assertThat(host.pci().pdevs().find(NVME).orElseThrow().type()).isEqualTo(PdevType.PCIE_ENDPOINT);
        assertThat(host.pci().pdevs().find(NET).orElseThrow().type()).isEqualTo(PdevType.PCIE_ENDPOINT);
    }

    @Test
    @DisplayName("windows nest: the upstream port forwards every BAR below it, each downstream port only its own; MMIO reaches each function through the switch")
    void windowsNest() {
        long nvmeBar = found(NVME).bars().get(0).address();
        long netBar1 = found(NET).bars().get(0).address();
        long netBar4 = found(NET).bars().get(1).address();
        assertThat(nvmeBar).isNotZero().isEqualTo(nvme.barAddress(0));
        assertThat(netBar1).isNotZero().isEqualTo(net.barAddress(1));
        assertThat(netBar4).isNotZero().isEqualTo(net.barAddress(4));
        for (long bar : new long[] {nvmeBar, netBar1, netBar4}) {
            assertThat(up.forwards(bar, false)).as("upstream port forwards %x", bar).isTrue();
        }
        assertThat(down0.forwards(nvmeBar, false)).isTrue();
        assertThat(down0.forwards(netBar1, false) || down0.forwards(netBar4, false)).isFalse();
        assertThat(down1.forwards(netBar1, false)).isTrue();
        assertThat(down1.forwards(netBar4, false)).isTrue();
        assertThat(down1.forwards(nvmeBar, false)).isFalse();
        // The 64-bit prefetchable BAR goes to the host bridge's 64-bit window, through both ports'
        // prefetchable windows (upper 32 bits programmed); the others to the 32-bit windows.
        assertThat(netBar4).isGreaterThanOrEqualTo(1L << 32);
        assertThat(down1.config().read(PciRegs.PCI_PREF_BASE_UPPER32, 4)).isEqualTo((int) (netBar4 >>> 32));
        assertThat(up.config().read(PciRegs.PCI_PREF_BASE_UPPER32, 4)).isEqualTo((int) (netBar4 >>> 32));
        assertThat(nvmeBar).isLessThan(1L << 32);
        // Linux's 1 MiB bridge window granularity: each window is 1 MiB aligned.
        int base = down0.config().read(PciRegs.PCI_MEMORY_BASE, 2);
        assertThat((long) (base & 0xfff0) << 16).isLessThanOrEqualTo(nvmeBar);
        HostBridgeHardware hb = host.platform().hostBridges().values().iterator().next();
        assertThat(hb.memoryTarget(nvmeBar, false)).isSameAs(nvme);
        assertThat(hb.memoryTarget(netBar1 + 0x800, false)).isSameAs(net);
        assertThat(hb.memoryTarget(netBar4 + 0x3000, false)).isSameAs(net);
        assertThat(up.config().read(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MASTER).as("upstream forwarding (MSI, DMA)").isNotZero();
    }

    @Test
    @DisplayName("libxl refuses to make a switch port assignable (ERROR_NI) and changes nothing; the NVMe behind it is assignable")
    void switchPortsAreRefused() {
        Libxl libxl = new Libxl(host);
        for (Sbdf port : List.of(UP, DOWN0)) {
            Optional<String> driver = libxl.pciback().driverPath(port);
            assertThatThrownBy(() -> libxl.pciAssignableAdd(port, Optional.empty(), true)).isInstanceOfSatisfying(LibxlException.class,
                    e -> {
                        assertThat(e.code()).isEqualTo(LibxlError.ERROR_NI);
                        assertThat(e.libxlMessage()).contains(port.toString()).contains("bridge");
                    });
            assertThat(libxl.pciback().driverPath(port)).isEqualTo(driver);
            assertThat(libxl.pciback().isAssigned(port)).isFalse();
            assertThat(host.pci().pdevs().find(port).orElseThrow().owner()).isSameAs(host.xen().hardwareDomain());
        }
        assertThat(libxl.pciAssignableList()).isEmpty();
        libxl.pciAssignableAdd(NVME, Optional.empty(), true);
        assertThat(host.pci().pdevs().find(NVME).orElseThrow().owner()).isSameAs(host.xen().domIo());
    }
}
