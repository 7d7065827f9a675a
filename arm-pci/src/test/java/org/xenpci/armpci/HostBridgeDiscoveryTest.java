package org.xenpci.armpci;

import org.xenpci.armpci.testkit.Trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xenpci.core.Errno;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.trace.Events;

@DisplayName("Host bridge discovery from the device tree (xen/arch/arm/pci/pci.c, pci-host-common.c)")
class HostBridgeDiscoveryTest {

    private static List<HostBridge> bridges(Fdt fdt) {
        return Boot.layer(Boot.xen(fdt, "pci-passthrough=on")).hostBridges().all();
    }

    private static Fdt rootWith(FdtNode.Builder... nodes) {
        FdtNode.Builder r = Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L));
        for (FdtNode.Builder n : nodes) {
            r.child(n);
        }
        return Fdt.of(r.build());
    }

    @Test
    @DisplayName("QEMU virt's generic ECAM bridge is registered with its window, bus range, segment and ranges")
    void qemuVirtGenericBridge() {
        List<HostBridge> found = bridges(Trees.qemuVirt());

        assertThat(found).hasSize(1);
        HostBridge b = found.get(0);
        assertThat(b.path()).isEqualTo("/pcie@10000000");
        assertThat(b.driver()).isEqualTo("generic");
        assertThat(b.compatible()).containsExactly("pci-host-ecam-generic");
        assertThat(b.segment()).isEqualTo(0);
        assertThat(b.cfg()).isEqualTo(new EcamWindow(0x40_1000_0000L, 0x1000_0000L, 0x00, 0xff));
        assertThat(b.childCfg()).isEmpty();
        assertThat(b.ranges()).containsExactly(
                new PciRange(0x01000000, PciRange.Space.IO, false, 0x0L, 0x3eff0000L, 0x10000L),
                new PciRange(0x02000000, PciRange.Space.MEM32, false, 0x10000000L, 0x10000000L, 0x2eff0000L),
                new PciRange(0x03000000, PciRange.Space.MEM64, false, 0x80_0000_0000L, 0x80_0000_0000L, 0x80_0000_0000L));
        assertThat(b.msiMap()).hasValueSatisfying(c -> assertThat(c).containsExactly(0, 0x8003, 0, 0x10000));
        assertThat(b.iommuMap()).isEmpty();
        assertThat(b.regs()).extracting(RegEntry::address, RegEntry::size)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(0x40_1000_0000L, 0x1000_0000L));
    }

    @Test
    @DisplayName("ZCU102's NWL bridge under /axi uses the reg entry named cfg and gets auto segment 0")
    void zynqmpNwlBridge() {
        List<HostBridge> found = bridges(Trees.zynqmp());

        assertThat(found).hasSize(1);
        HostBridge b = found.get(0);
        assertThat(b.path()).isEqualTo("/axi/pcie@fd0e0000");
        assertThat(b.driver()).isEqualTo("zynqmp-nwl");
        assertThat(b.segment()).isEqualTo(0);
        assertThat(b.cfg()).isEqualTo(new EcamWindow(0x80_0000_0000L, 0x100_0000L, 0x00, 0xff));
        assertThat(b.regs()).containsExactly(
                new RegEntry(0, 0xfd0e0000L, 0x1000, java.util.Optional.of("breg")),
                new RegEntry(1, 0xfd480000L, 0x1000, java.util.Optional.of("pcireg")),
                new RegEntry(2, 0x80_0000_0000L, 0x100_0000L, java.util.Optional.of("cfg")));
        assertThat(b.ranges()).containsExactly(
                new PciRange(0x02000000, PciRange.Space.MEM32, false, 0xe0000000L, 0xe0000000L, 0x10000000L),
                new PciRange(0x43000000, PciRange.Space.MEM64, true, 0x6_0000_0000L, 0x6_0000_0000L, 0x2_0000_0000L));
        assertThat(b.msiParent()).hasValueSatisfying(c -> assertThat(c).containsExactly(0x19));
        assertThat(b.msiMap()).isEmpty();
    }

    @Test
    @DisplayName("a disabled node and a xen,passthrough node are skipped; later bridges are still probed")
    void disabledAndPassthroughSkipped() {
        Fdt fdt = rootWith(
                Trees.generic(0x30_0000_0000L, 0, 0xf, null).property(FdtProperty.string("status", "disabled")),
                Trees.generic(0x31_0000_0000L, 0, 0xf, null).property(FdtProperty.empty("xen,passthrough")),
                Trees.generic(0x32_0000_0000L, 0, 0xf, null));

        List<HostBridge> found = bridges(fdt);

        assertThat(found).extracting(HostBridge::path).containsExactly("/pcie@3200000000");
        assertThat(found.get(0).segment()).isEqualTo(0);
    }

    @Test
    @DisplayName("a node whose compatible no driver claims is skipped (-EBADF), not an error")
    void unknownCompatibleSkipped() {
        Fdt fdt = rootWith(
                Trees.generic(0x30_0000_0000L, 0, 0xf, null)
                        .setProperty(FdtProperty.string("compatible", "pci-host-cam-generic")),
                Trees.generic(0x32_0000_0000L, 0, 0xf, null));

        ArmPciLayer layer = Boot.layer(Boot.xen(fdt, "pci-passthrough=on"));

        assertThat(layer.hostBridges().all()).extracting(HostBridge::path).containsExactly("/pcie@3200000000");
        assertThat(layer.probeFailure()).isEmpty();
    }

    @Test
    @DisplayName("an R-Car Gen4 node without reg-names: the common probe fails, then the R-Car probe's \"app\" lookup ends the walk with -EINVAL; a disabled one is skipped")
    void rcarWithoutRegNames() {
        FdtNode.Builder rcar = Trees.generic(0x30_0000_0000L, 0, 0xf, 0)
                .setProperty(FdtProperty.strings("compatible", "renesas,r8a779f0-pcie", "renesas,rcar-gen4-pcie"));

        ArmPciLayer layer = Boot.layer(Boot.xen(rootWith(rcar), "pci-passthrough=on"));
        assertThat(layer.hostBridges().all()).isEmpty();
        assertThat(layer.probeFailure()).hasValueSatisfying(f -> {
            assertThat(f.nodePath()).isEqualTo("/pcie@3000000000");
            assertThat(f.errno()).isEqualTo(org.xenpci.core.Errno.EINVAL);
            assertThat(f.reason()).contains("app");
        });

        FdtNode.Builder disabled = Trees.generic(0x30_0000_0000L, 0, 0xf, 0)
                .setProperty(FdtProperty.string("compatible", "renesas,r8a779g0-pcie"))
                .property(FdtProperty.string("status", "disabled"));
        assertThat(bridges(rootWith(disabled))).isEmpty();
    }

    @Test
    @DisplayName("a probe failure (-ENOMEM) stops the walk: earlier bridges stay, later ones are never probed, boot goes on")
    void probeFailureStopsWalk() {
        FdtNode.Builder noCfgName = Trees.zynqmpPcie().setProperty(FdtProperty.strings("reg-names", "breg", "pcireg", "config"));
        Fdt fdt = rootWith(
                Trees.generic(0x30_0000_0000L, 0, 0xf, null),
                noCfgName,
                Trees.generic(0x32_0000_0000L, 0, 0xf, null));

        Xen xen = Boot.xen(fdt, "pci-passthrough=on");
        ArmPciLayer layer = Boot.layer(xen);

        assertThat(layer.hostBridges().all()).extracting(HostBridge::path).containsExactly("/pcie@3000000000");
        assertThat(layer.probeFailure()).hasValueSatisfying(f -> {
            assertThat(f.nodePath()).isEqualTo("/pcie@fd0e0000");
            assertThat(f.errno()).isEqualTo(Errno.ENOMEM);
        });
        assertThat(xen.trace().events(Events.Warning.class)).anySatisfy(
                w -> assertThat(w.message()).contains("/pcie@fd0e0000").contains("-ENOMEM"));
        assertThat(xen.hardwareDomain()).isNotNull();
    }

    @Test
    @DisplayName("a generic bridge without reg fails its probe with -ENOMEM")
    void missingRegFails() {
        // linux,pci-domain present: with no bridge probed, the dom0 fix-up could not number it.
        Fdt fdt = rootWith(Trees.generic(0x30_0000_0000L, 0, 0xf, 0).removeProperty("reg"));

        ArmPciLayer layer = Boot.layer(Boot.xen(fdt, "pci-passthrough=on"));

        assertThat(layer.hostBridges().all()).isEmpty();
        assertThat(layer.probeFailure()).hasValueSatisfying(f -> assertThat(f.reason()).contains("no reg"));
    }

    @Test
    @DisplayName("a config window of size 0 fails its probe with -ENOMEM")
    void zeroSizeFails() {
        Fdt fdt = rootWith(Trees.generic(0x30_0000_0000L, 0, 0xf, 0)
                .setProperty(FdtProperty.u64("reg", 0x30_0000_0000L, 0)));

        ArmPciLayer layer = Boot.layer(Boot.xen(fdt, "pci-passthrough=on"));

        assertThat(layer.hostBridges().all()).isEmpty();
        assertThat(layer.probeFailure()).hasValueSatisfying(f -> assertThat(f.errno()).isEqualTo(Errno.ENOMEM));
    }

    @ParameterizedTest(name = "bus-range {0} gives {1}..{2}")
    @CsvSource({
        "'0,255', 0x00, 0xff",
        "'0,256', 0x00, 0x00",
        "'0x101,0x1ff', 0x01, 0xff",
        "'0x10,0x1f', 0x10, 0x1f",
        "'5', 0x00, 0xff",
        "'', 0x00, 0xff",
        "'0,255,7', 0x00, 0xff",
    })
    @DisplayName("bus-range is truncated to u8 per cell, the clamp never fires, and absent/short means 0..0xff")
    void busRangeRules(String cells, String start, String end) {
        FdtNode.Builder n = Trees.generic(0x30_0000_0000L, 0, 0xf, null);
        if (cells.isEmpty()) {
            n.removeProperty("bus-range");
        } else {
            String[] parts = cells.split(",");
            int[] v = new int[parts.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = Integer.decode(parts[i].trim());
            }
            n.setProperty(FdtProperty.u32("bus-range", v));
        }

        HostBridge b = bridges(rootWith(n)).get(0);

        assertThat(b.cfg().busStart()).isEqualTo(Integer.decode(start));
        assertThat(b.cfg().busEnd()).isEqualTo(Integer.decode(end));
    }

    @Test
    @DisplayName("with linux,pci-domain on every bridge the DT values are used, truncated to 16 bits")
    void allDtDomains() {
        Fdt fdt = rootWith(
                Trees.generic(0x30_0000_0000L, 0, 0xf, 5),
                Trees.generic(0x31_0000_0000L, 0, 0xf, 0x10003),
                Trees.generic(0x32_0000_0000L, 0, 0xf, 0));

        assertThat(bridges(fdt)).extracting(HostBridge::segment).containsExactly(5, 3, 0);
    }

    @Test
    @DisplayName("without linux,pci-domain anywhere the bridges are numbered 0, 1, 2 in DT order")
    void allAutoDomains() {
        Fdt fdt = rootWith(
                Trees.generic(0x30_0000_0000L, 0, 0xf, null),
                Trees.generic(0x31_0000_0000L, 0, 0xf, null),
                Trees.generic(0x32_0000_0000L, 0, 0xf, null));

        List<HostBridge> found = bridges(fdt);

        assertThat(found).extracting(HostBridge::segment).containsExactly(0, 1, 2);
        ArmPciLayer layer = Boot.layer(Boot.xen(fdt, "pci-passthrough=on"));
        assertThat(layer.segmentOf("/pcie@3100000000")).isEqualTo(1);
        assertThat(layer.segmentOf("/nowhere")).isEqualTo(-22);
    }

    @Test
    @DisplayName("mixing DT and auto segment numbering fails the boot where Xen would BUG(), in either order")
    void mixingStylesFailsBoot() {
        Fdt dtThenAuto = rootWith(Trees.generic(0x30_0000_0000L, 0, 0xf, 1), Trees.generic(0x31_0000_0000L, 0, 0xf, null));
        Fdt autoThenDt = rootWith(Trees.generic(0x30_0000_0000L, 0, 0xf, null), Trees.generic(0x31_0000_0000L, 0, 0xf, 1));

        assertThatThrownBy(() -> bridges(dtThenAuto)).isInstanceOf(PciBootException.InconsistentPciDomain.class)
                .hasMessageContaining("/pcie@3100000000");
        assertThatThrownBy(() -> bridges(autoThenDt)).isInstanceOf(PciBootException.InconsistentPciDomain.class)
                .satisfies(e -> assertThat(((PciBootException) e).nodePath()).isEqualTo("/pcie@3100000000"));
    }

    @Test
    @DisplayName("findHostBridge matches segment and bus range in list order and returns null elsewhere")
    void findHostBridge() {
        Fdt fdt = rootWith(
                Trees.generic(0x30_0000_0000L, 0x00, 0x0f, 0),
                Trees.generic(0x31_0000_0000L, 0x10, 0x1f, 0),
                Trees.generic(0x32_0000_0000L, 0x00, 0xff, 1));
        ArmPciLayer layer = Boot.layer(Boot.xen(fdt, "pci-passthrough=on"));

        assertThat(layer.findHostBridge(0, 0x0f).path()).isEqualTo("/pcie@3000000000");
        assertThat(layer.findHostBridge(0, 0x10).path()).isEqualTo("/pcie@3100000000");
        assertThat(layer.findHostBridge(1, 0x10).path()).isEqualTo("/pcie@3200000000");
        assertThat(layer.findHostBridge(0, 0x20)).isNull();
        assertThat(layer.findHostBridge(2, 0x00)).isNull();
    }

    @Test
    @DisplayName("with pci-passthrough off and no IOMMU, pci_init does nothing")
    void gateClosed() {
        ArmPciLayer layer = Boot.layer(Boot.xen(Trees.qemuVirt(), ""));

        assertThat(layer.pciInitRan()).isFalse();
        assertThat(layer.hostBridges().all()).isEmpty();
    }

    @Test
    @DisplayName("an enabled IOMMU opens the gate without pci-passthrough")
    void iommuOpensGate() {
        Xen xen = Boot.xen(Trees.qemuVirt(), new org.xenpci.core.PhysicalAddressSpace(), "",
                org.xenpci.core.Profile.UPSTREAM, Boot.iommuOn());

        assertThat(Boot.layer(xen).pciInitRan()).isTrue();
        assertThat(Boot.layer(xen).hostBridges().all()).hasSize(1);
    }
}
