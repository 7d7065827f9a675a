package org.xenpci.armpci;

import org.xenpci.armpci.testkit.Trees;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.P2m.DirectMmio;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.pci.Sbdf;

@DisplayName("What the hardware domain gets mapped for host bridges (xen/arch/arm/pci/pci-host-common.c: pci_host_bridge_mappings)")
class HwdomMappingTest {

    private static List<DirectMmio> mappings(Fdt fdt, Profile profile) {
        Xen xen = Boot.xen(fdt, new PhysicalAddressSpace(), "pci-passthrough=on", profile);
        return xen.hardwareDomain().p2m().mmioMappings();
    }

    @Test
    @DisplayName("upstream (has_vpci false): QEMU's ECAM and its IO/MEM32/MEM64 apertures are mapped 1:1")
    void qemuUpstreamMapsEverything() {
        assertThat(mappings(Trees.qemuVirt(), Profile.UPSTREAM)).containsExactly(
                new DirectMmio(0x1000_0000L, 0x2eff_0000L, 0x1000_0000L),
                new DirectMmio(0x3eff_0000L, 0x1_0000L, 0x3eff_0000L),
                new DirectMmio(0x40_1000_0000L, 0x1000_0000L, 0x40_1000_0000L),
                new DirectMmio(0x80_0000_0000L, 0x80_0000_0000L, 0x80_0000_0000L));
    }

    @Test
    @DisplayName("vpciHardwareDomain: QEMU's ECAM and apertures are left unmapped")
    void qemuFullMapsNothing() {
        assertThat(mappings(Trees.qemuVirt(), Profile.FULL)).isEmpty();
    }

    @Test
    @DisplayName("vpciHardwareDomain: ZynqMP's breg and pcireg are mapped 1:1, cfg and apertures are not")
    void zynqmpFullMapsControlRegistersOnly() {
        assertThat(mappings(Trees.zynqmp(), Profile.FULL)).containsExactly(
                new DirectMmio(0xfd0e_0000L, 0x1000, 0xfd0e_0000L),
                new DirectMmio(0xfd48_0000L, 0x1000, 0xfd48_0000L));
    }

    @Test
    @DisplayName("upstream: ZynqMP's three reg entries and both apertures are mapped 1:1")
    void zynqmpUpstreamMapsAll() {
        assertThat(mappings(Trees.zynqmp(), Profile.UPSTREAM)).containsExactly(
                new DirectMmio(0xe000_0000L, 0x1000_0000L, 0xe000_0000L),
                new DirectMmio(0xfd0e_0000L, 0x1000, 0xfd0e_0000L),
                new DirectMmio(0xfd48_0000L, 0x1000, 0xfd48_0000L),
                new DirectMmio(0x6_0000_0000L, 0x2_0000_0000L, 0x6_0000_0000L),
                new DirectMmio(0x80_0000_0000L, 0x100_0000L, 0x80_0000_0000L));
    }

    @Test
    @DisplayName("a sub-page reg entry is rounded out to the whole pages it touches")
    void subPageRegRoundedOut() {
        Fdt fdt = Fdt.of(Trees.root().child(Trees.memory(0, 0x8000_0000L)).child(Trees.axi().child(Trees.zynqmpPcie()
                .setProperty(FdtProperty.u32("reg", 0, 0xfd0e0f00, 0, 0x200, 0, 0xfd480000, 0, 0x1000, 0x80, 0, 0,
                        0x1000000))))
                .build());

        assertThat(mappings(fdt, Profile.FULL)).containsExactly(
                new DirectMmio(0xfd0e_0000L, 0x2000, 0xfd0e_0000L),
                new DirectMmio(0xfd48_0000L, 0x1000, 0xfd48_0000L));
    }

    @Test
    @DisplayName("pci_check_bar accepts a BAR inside one ranges entry and rejects spanning, inverted and bridgeless ones")
    void pciCheckBar() {
        ArmPciLayer layer = Boot.layer(Boot.xen(Trees.qemuVirt(), "pci-passthrough=on"));
        Sbdf dev = Sbdf.of(0, 2, 0);

        assertThat(layer.pciCheckBar(dev, 0x10000, 0x10000)).isTrue();
        assertThat(layer.pciCheckBar(dev, 0x3efef, 0x3efef)).isTrue();
        assertThat(layer.pciCheckBar(dev, 0x3efef, 0x3eff0)).isFalse(); // MEM32 end into IO: two entries
        assertThat(layer.pciCheckBar(dev, 0x8000000, 0x8000001)).isTrue();
        assertThat(layer.pciCheckBar(dev, 0x10001, 0x10000)).isFalse();
        assertThat(layer.pciCheckBar(dev, 0x40000, 0x40000)).isFalse();
        assertThat(layer.pciCheckBar(new Sbdf(1, 0, 2, 0), 0x10000, 0x10000)).isFalse();
    }
}
