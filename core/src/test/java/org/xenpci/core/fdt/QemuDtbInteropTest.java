package org.xenpci.core.fdt;

import org.xenpci.core.testkit.DtcTool;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@DisplayName("Device trees QEMU itself generates for the Arm virt machine (built by libfdt, padded)")
class QemuDtbInteropTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"virt,gic-version=3", "virt,gic-version=3,iommu=smmuv3", "virt,gic-version=3,highmem=off",
        "virt,gic-version=2"})
    @DisplayName("read, write and DTS agree with dtc byte for byte, with zero dtc warnings")
    void qemuBlobsRoundTrip(String machine) {
        byte[] qemu = QemuTool.dumpDtb(machine);
        Fdt fdt = FdtReader.read(qemu);
        byte[] ours = FdtWriter.write(fdt);
        // QEMU pads totalsize to its buffer size; dtc's re-emission drops the padding, as we do.
        DtcTool.DtcResult dtc = DtcTool.recompile(qemu);
        assertThat(dtc.exitCode()).isZero();
        assertThat(ours).isEqualTo(dtc.output());
        assertThat(FdtReader.read(ours)).isEqualTo(fdt);

        DtcTool.DtcResult fromDts = DtcTool.compile(DtsWriter.write(fdt));
        assertThat(fromDts.stderr()).isEmpty();
        assertThat(fromDts.output()).isEqualTo(ours);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"virt,gic-version=3", "virt,gic-version=3,iommu=smmuv3"})
    @DisplayName("the PCIe host bridge maps all requester IDs to the GICv3 ITS")
    void pcieMsiMapReachesIts(String machine) {
        Fdt fdt = FdtReader.read(QemuTool.dumpDtb(machine));
        String[] pciePath = {null};
        fdt.forEachNode((path, node) -> {
            if (node.property("compatible").map(p -> p.asStringList().contains("pci-host-ecam-generic")).orElse(false)) {
                pciePath[0] = path;
            }
        });
        assertThat(pciePath[0]).startsWith("/pcie@");
        FdtNode pcie = fdt.node(pciePath[0]).orElseThrow();
        int[] msiMap = pcie.property("msi-map").orElseThrow().asCells();
        FdtNode its = fdt.nodeByPhandle(msiMap[1]).orElseThrow();
        assertThat(its.property("compatible").orElseThrow().asString()).isEqualTo("arm,gic-v3-its");
        assertThat(its.hasProperty("msi-controller")).isTrue();
        assertThat(msiMap[3]).isEqualTo(0x10000);
        if (machine.contains("smmuv3")) {
            int[] iommuMap = pcie.property("iommu-map").orElseThrow().asCells();
            assertThat(fdt.nodeByPhandle(iommuMap[1]).orElseThrow().property("compatible").orElseThrow().asString())
                    .isEqualTo("arm,smmu-v3");
        }
    }
}
