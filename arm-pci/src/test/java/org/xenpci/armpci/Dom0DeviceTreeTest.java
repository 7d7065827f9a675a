package org.xenpci.armpci;

import org.xenpci.armpci.testkit.Trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

@DisplayName("Dom0 device tree: linux,pci-domain fix-up (xen/arch/arm/domain_build.c: handle_linux_pci_domain)")
class Dom0DeviceTreeTest {

    private static Fdt tree(FdtNode.Builder... nodes) {
        FdtNode.Builder r = Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L));
        for (FdtNode.Builder n : nodes) {
            r.child(n);
        }
        return Fdt.of(r.build());
    }

    private static int domainOf(Xen xen, String path) {
        return xen.hardwareDomain().deviceTree().node(path).orElseThrow().u32("linux,pci-domain").orElseThrow();
    }

    @Test
    @DisplayName("bridges without the property get their Xen segment; a disabled one gets the next auto number")
    void addsSegmentsIncludingDisabled() {
        FdtNode.Builder child = FdtNode.builder("pci@0,0").property(FdtProperty.string("device_type", "pci"));
        Fdt fdt = tree(
                Trees.generic(0x30_0000_0000L, 0, 0xf, null).child(child),
                Trees.generic(0x31_0000_0000L, 0, 0xf, null).property(FdtProperty.string("status", "disabled")),
                Trees.generic(0x32_0000_0000L, 0, 0xf, null));

        Xen xen = Boot.xen(fdt, "pci-passthrough=on");

        assertThat(domainOf(xen, "/pcie@3000000000")).isEqualTo(0);
        assertThat(domainOf(xen, "/pcie@3200000000")).isEqualTo(1);
        assertThat(domainOf(xen, "/pcie@3100000000")).isEqualTo(2);
        FdtNode fixed = xen.hardwareDomain().deviceTree().node("/pcie@3000000000").orElseThrow();
        assertThat(fixed.properties().get(fixed.properties().size() - 1).name()).isEqualTo("linux,pci-domain");
        assertThat(fixed.child("pci@0,0").orElseThrow().hasProperty("linux,pci-domain")).isFalse();
    }

    @Test
    @DisplayName("an existing linux,pci-domain is left as it is")
    void existingPropertyKept() {
        Xen xen = Boot.xen(Trees.qemuVirt(), "pci-passthrough=on");

        assertThat(xen.hardwareDomain().deviceTree()).isEqualTo(Trees.qemuVirt());
    }

    @Test
    @DisplayName("with pci-passthrough off nothing is added (even if the IOMMU opened the PCI gate)")
    void notAddedWhenPassthroughOff() {
        Fdt fdt = Trees.zynqmp();
        Xen off = Boot.xen(fdt, "");
        Xen iommuOnly = Boot.xen(fdt, new org.xenpci.core.PhysicalAddressSpace(), "",
                org.xenpci.core.Profile.UPSTREAM, Boot.iommuOn());

        assertThat(off.hardwareDomain().deviceTree()).isEqualTo(fdt);
        assertThat(iommuOnly.hardwareDomain().deviceTree()).isEqualTo(fdt);
        assertThat(Boot.layer(iommuOnly).hostBridges().all()).hasSize(1);
    }

    @Test
    @DisplayName("ZCU102's NWL bridge gets linux,pci-domain = <0>")
    void zynqmpGetsDomainZero() {
        Xen xen = Boot.xen(Trees.zynqmp(), "pci-passthrough=on");

        assertThat(domainOf(xen, "/axi/pcie@fd0e0000")).isEqualTo(0);
    }

    @Test
    @DisplayName("with DT numbering in use, a disabled bridge lacking the property fails dom0 creation naming the node")
    void noNumberAvailableWithDtDomains() {
        Fdt fdt = tree(
                Trees.generic(0x30_0000_0000L, 0, 0xf, 3),
                Trees.generic(0x31_0000_0000L, 0, 0xf, null).property(FdtProperty.string("status", "disabled")));

        assertThatThrownBy(() -> Boot.xen(fdt, "pci-passthrough=on"))
                .isInstanceOf(PciBootException.PciDomainUnavailable.class)
                .hasMessageContaining("/pcie@3100000000");
    }

    @Test
    @DisplayName("with no bridge probed at all, a bridge node lacking the property fails dom0 creation")
    void noNumberAvailableWithNoBridge() {
        Fdt fdt = tree(Trees.generic(0x31_0000_0000L, 0, 0xf, null).property(FdtProperty.empty("xen,passthrough")));

        assertThatThrownBy(() -> Boot.xen(fdt, "pci-passthrough=on"))
                .isInstanceOf(PciBootException.PciDomainUnavailable.class)
                .satisfies(e -> assertThat(((PciBootException) e).nodePath()).isEqualTo("/pcie@3100000000"));
        assertThat(List.of(Boot.xen(fdt, "").hardwareDomain().deviceTree())).containsExactly(fdt);
    }
}
