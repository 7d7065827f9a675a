package org.xenpci.libxl.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.ArmPci;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.HostBridge;
import org.xenpci.armpci.PciRange;
import org.xenpci.core.Hardware;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtReader;
import org.xenpci.core.testkit.DtcTool;

/**
 * Host bridge discovery from device-tree source written from
 * (QEMU 7.2 virt's /pcie@10000000; the Linux zynqmp.dtsi /axi/pcie@fd0e0000), compiled by the
 * real dtc, read back by our reader and probed by Xen's drivers.
 */
class DtsDiscoveryTest {

    static final String BOARD = String.join("\n",
            "/dts-v1/;",
            "/ {",
            "    #address-cells = <2>;",
            "    #size-cells = <2>;",
            "    memory@40000000 { device_type = \"memory\"; reg = <0x0 0x40000000 0x0 0x40000000>; };",
            "    intc: intc@8000000 {",
            "        compatible = \"arm,gic-v3\"; #interrupt-cells = <3>; interrupt-controller;",
            "        #address-cells = <2>; #size-cells = <2>; ranges;",
            "        reg = <0x0 0x8000000 0x0 0x10000 0x0 0x80a0000 0x0 0xf60000>;",
            "        its: its@8080000 { compatible = \"arm,gic-v3-its\"; msi-controller; #msi-cells = <1>;",
            "                           reg = <0x0 0x8080000 0x0 0x20000>; };",
            "    };",
            "    pcie@10000000 {",
            "        compatible = \"pci-host-ecam-generic\";",
            "        device_type = \"pci\";",
            "        #address-cells = <3>;",
            "        #size-cells = <2>;",
            "        linux,pci-domain = <0>;",
            "        dma-coherent;",
            "        bus-range = <0x0 0xff>;",
            "        reg = <0x40 0x10000000 0x0 0x10000000>;",
            "        ranges = <0x01000000 0x0 0x0        0x0 0x3eff0000 0x0 0x10000",
            "                  0x02000000 0x0 0x10000000 0x0 0x10000000 0x0 0x2eff0000",
            "                  0x03000000 0x80 0x0       0x80 0x0       0x80 0x0>;",
            "        msi-map = <0x0 &its 0x0 0x10000>;",
            "    };",
            "    axi {",
            "        compatible = \"simple-bus\"; #address-cells = <2>; #size-cells = <2>; ranges;",
            "        pcie@fd0e0000 {",
            "            compatible = \"xlnx,nwl-pcie-2.11\";",
            "            device_type = \"pci\";",
            "            #address-cells = <3>;",
            "            #size-cells = <2>;",
            "            status = \"okay\";",
            "            reg = <0x0 0xfd0e0000 0x0 0x1000 0x0 0xfd480000 0x0 0x1000 0x80 0x0 0x0 0x1000000>;",
            "            reg-names = \"breg\", \"pcireg\", \"cfg\";",
            "            bus-range = <0x0 0xff>;",
            "            ranges = <0x02000000 0x0 0xe0000000 0x0 0xe0000000 0x0 0x10000000",
            "                      0x43000000 0x6 0x0 0x6 0x0 0x2 0x0>;",
            "            linux,pci-domain = <1>;",
            "        };",
            "    };",
            "};",
            "");

    @Test
    @DisplayName("dtc-compiled DTS for a QEMU virt bridge and a ZynqMP NWL bridge: Xen probes both in DT order with their windows")
    void discoversBothBridges() {
        Fdt fdt = FdtReader.read(DtcTool.compileDts(BOARD));
        Xen xen = Xen.builder().hardware(new Hardware(fdt, new PhysicalAddressSpace())).cmdline("pci-passthrough=on")
                .profile(Profile.UPSTREAM).extension(new ArmPci()).build();
        List<HostBridge> bridges = xen.service(ArmPciLayer.class).orElseThrow().hostBridges().all();
        assertThat(bridges).hasSize(2);

        HostBridge qemu = bridges.get(0);
        assertThat(qemu.path()).isEqualTo("/pcie@10000000");
        assertThat(qemu.driver()).isEqualTo("generic");
        assertThat(qemu.segment()).isZero();
        assertThat(qemu.cfg().physBase()).isEqualTo(0x40_1000_0000L);
        assertThat(qemu.cfg().size()).isEqualTo(0x1000_0000L);
        assertThat(qemu.cfg().busStart()).isZero();
        assertThat(qemu.cfg().busEnd()).isEqualTo(0xff);
        assertThat(qemu.ranges()).extracting(PciRange::space, PciRange::cpuAddress, PciRange::size).containsExactly(
                org.assertj.core.groups.Tuple.tuple(PciRange.Space.IO, 0x3eff0000L, 0x10000L),
                org.assertj.core.groups.Tuple.tuple(PciRange.Space.MEM32, 0x10000000L, 0x2eff0000L),
                org.assertj.core.groups.Tuple.tuple(PciRange.Space.MEM64, 0x80_0000_0000L, 0x80_0000_0000L));

        HostBridge nwl = bridges.get(1);
        assertThat(nwl.path()).isEqualTo("/axi/pcie@fd0e0000");
        assertThat(nwl.driver()).isEqualTo("zynqmp-nwl");
        assertThat(nwl.segment()).isEqualTo(1);
        // The cfg entry is picked by name, not position: reg[2].
        assertThat(nwl.cfg().physBase()).isEqualTo(0x80_0000_0000L);
        assertThat(nwl.cfg().size()).isEqualTo(0x100_0000L);
        assertThat(nwl.ranges()).extracting(PciRange::prefetchable).containsExactly(false, true);
    }
}
