package org.xenpci.core.fdt;

import org.xenpci.core.testkit.DtcTool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("What the PCI passthrough code will read from real-looking trees")
class FdtFixtureScenarioTest {

    private static Fdt compiled(String fixture) {
        return FdtReader.read(DtcTool.compileDts(DtcTool.resource(fixture)));
    }

    @Test
    @DisplayName("QEMU virt: the ECAM host bridge, its windows and its ITS are found and decoded")
    void qemuVirtPcie() {
        Fdt fdt = compiled("qemu-virt.dts");
        assertThat(fdt.memReserves()).containsExactly(new MemReserve(0x48000000L, 0x100000));
        FdtNode pcie = fdt.node("/pcie@10000000").orElseThrow();
        assertThat(pcie.property("compatible").orElseThrow().asString()).isEqualTo("pci-host-ecam-generic");
        assertThat(pcie.property("device_type").orElseThrow().asString()).isEqualTo("pci");
        assertThat(pcie.u32("linux,pci-domain")).hasValue(0);
        assertThat(pcie.property("bus-range").orElseThrow().asCells()).containsExactly(0, 0xff);

        int addressCells = fdt.root().u32("#address-cells").orElseThrow();
        int sizeCells = fdt.root().u32("#size-cells").orElseThrow();
        FdtProperty reg = pcie.property("reg").orElseThrow();
        assertThat(reg.asLong(0, addressCells)).isEqualTo(0x40_1000_0000L);
        assertThat(reg.asLong(addressCells, sizeCells)).isEqualTo(0x1000_0000L);

        // ranges: child PCI address (3 cells) + parent CPU address (2) + size (2) = 7 cells per window
        FdtProperty ranges = pcie.property("ranges").orElseThrow();
        assertThat(ranges.cellCount()).isEqualTo(21);
        assertThat(ranges.asCells()[14]).as("space code of the 64-bit window").isEqualTo(0x03000000);
        assertThat(ranges.asLong(15, 2)).as("PCI address").isEqualTo(0x80_0000_0000L);
        assertThat(ranges.asLong(17, 2)).as("CPU address").isEqualTo(0x80_0000_0000L);
        assertThat(ranges.asLong(19, 2)).as("size").isEqualTo(0x80_0000_0000L);

        int[] msiMap = pcie.property("msi-map").orElseThrow().asCells();
        assertThat(msiMap).hasSize(4);
        FdtNode its = fdt.nodeByPhandle(msiMap[1]).orElseThrow();
        assertThat(its.name()).isEqualTo("its@8080000");
        assertThat(its.hasProperty("msi-controller")).isTrue();
        assertThat(its.u32("#msi-cells")).hasValue(1);
        assertThat(msiMap[3]).as("RID range").isEqualTo(0x10000);

        assertThat(pcie.property("interrupt-map-mask").orElseThrow().asCells()).containsExactly(0x1800, 0, 0, 7);
        // 3 + 1 child cells, phandle, GICv3 #address-cells 2 + #interrupt-cells 3 = 10 cells per entry
        assertThat(pcie.property("interrupt-map").orElseThrow().cellCount()).isEqualTo(80);
    }

    @Test
    @DisplayName("QEMU virt as DTS: the GIC and ITS get labels and the PCIe node references them")
    void qemuVirtDts() {
        String dts = DtsWriter.write(compiled("qemu-virt.dts"));
        assertThat(dts).contains("\tintc_8000000: intc@8000000 {")
                .contains("\t\tits_8080000: its@8080000 {")
                .contains("msi-map = <0x00 &its_8080000 0x00 0x10000>;")
                .contains("0x800 0x00 0x00 0x04 &intc_8000000 0x00 0x00 0x00 0x03 0x04>;")
                .contains("\tinterrupt-parent = <&intc_8000000>;")
                .contains("gpios = <&pl061_9030000 0x03 0x00>;");
    }

    @Test
    @DisplayName("ZynqMP: the NWL root port is its own MSI parent and routes INTx to its child controller")
    void zynqmpNwl() {
        Fdt fdt = compiled("zynqmp.dts");
        assertThat(fdt.memReserves()).containsExactly(
                new MemReserve(0x7ff00000L, 0x100000), new MemReserve(0x8_0000_0000L, 0x1000));
        FdtNode pcie = fdt.node("/axi/pcie@fd0e0000").orElseThrow();
        assertThat(pcie.property("compatible").orElseThrow().asString()).isEqualTo("xlnx,nwl-pcie-2.11");
        assertThat(pcie.property("reg-names").orElseThrow().asStringList()).containsExactly("breg", "pcireg", "cfg");
        FdtProperty reg = pcie.property("reg").orElseThrow();
        assertThat(reg.cellCount()).isEqualTo(12);
        assertThat(reg.asLong(8, 2)).as("cfg base").isEqualTo(0x80_0000_0000L);
        assertThat(reg.asLong(10, 2)).as("cfg size").isEqualTo(0x1000_0000L);

        int self = pcie.phandle().orElseThrow();
        assertThat(pcie.u32("msi-parent")).hasValue(self);
        assertThat(fdt.nodeByPhandle(self)).contains(pcie);

        int[] imap = pcie.property("interrupt-map").orElseThrow().asCells();
        assertThat(imap).hasSize(4 * 6);
        FdtNode intc = fdt.nodeByPhandle(imap[4]).orElseThrow();
        assertThat(intc.name()).isEqualTo("legacy-interrupt-controller");
        assertThat(fdt.node("/axi/pcie/legacy-interrupt-controller")).contains(intc);
        assertThat(List.of(imap[5], imap[11], imap[17], imap[23])).containsExactly(1, 2, 3, 4);
    }

    @Test
    @DisplayName("ZynqMP as DTS: msi-parent, iommu-map, phys and interrupt-map use &references")
    void zynqmpDts() {
        String dts = DtsWriter.write(compiled("zynqmp.dts"));
        assertThat(dts).contains("\t\tpcie_fd0e0000: pcie@fd0e0000 {")
                .contains("msi-parent = <&pcie_fd0e0000>;")
                .contains("iommu-map = <0x00 &iommu_fd800000 0x4d0 0x10000>;")
                .contains("phys = <&phy_fd400000 0x00 0x00 0x00 0x00>;")
                .contains("interrupt-map = <0x00 0x00 0x00 0x01 &legacy_interrupt_controller 0x01 ")
                .contains("interrupts-extended = <&interrupt_controller_f9010000 0x00 0x15 0x04>;")
                .contains("clocks = <&clock_controller 0x38 &clock_controller 0x1f>;");
    }
}
