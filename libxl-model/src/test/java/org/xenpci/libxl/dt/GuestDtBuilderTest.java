package org.xenpci.libxl.dt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.libxl.config.GicVersion;
import org.xenpci.libxl.config.XlConfig;

class GuestDtBuilderTest {

    private static final String WORKED_EXAMPLE = "name = \"g1\"\nkernel = \"Image\"\nmemory = 1024\nvcpus = 2\n"
            + "gic_version = \"v3\"\npci = [ \"0000:01:00.0\" ]\n";

    private static Fdt build(String cfg) {
        return GuestDtBuilder.forConfig(XlConfig.parse(cfg, "t.cfg")).build();
    }

    private static FdtNode node(Fdt fdt, String path) {
        return fdt.node(path).orElseThrow(() -> new AssertionError("no node " + path));
    }

    private static String hex(Fdt fdt, String path, String prop) {
        return HexFormat.of().formatHex(node(fdt, path).property(prop).orElseThrow().value());
    }

    @Test
    @DisplayName("The worked example (g1: 2 vCPUs, GICv3, 1 GiB, one device) has libxl's node order")
    void workedExampleNodeOrder() {
        Fdt fdt = build(WORKED_EXAMPLE);
        assertThat(fdt.root().children().stream().map(FdtNode::name))
                .containsExactly("chosen", "cpus", "psci", "memory@40000000", "interrupt-controller@3001000",
                        "timer", "hypervisor", "pcie@10000000");
        assertThat(fdt.root().properties().stream().map(FdtProperty::name))
                .containsExactly("model", "compatible", "interrupt-parent", "#address-cells", "#size-cells");
        assertThat(node(fdt, "/").property("model").orElseThrow().asString()).isEqualTo("XENVM-4.23");
        assertThat(node(fdt, "/").property("compatible").orElseThrow().asStringList())
                .containsExactly("xen,xenvm-4.23", "xen,xenvm");
        assertThat(node(fdt, "/cpus").children().stream().map(FdtNode::name)).containsExactly("cpu@0", "cpu@1");
        assertThat(node(fdt, "/cpus/cpu@1").properties().stream().map(FdtProperty::name))
                .containsExactly("device_type", "compatible", "enable-method", "reg");
    }

    @Test
    @DisplayName("The vPCI node carries exactly the 8 upstream properties with hand-computed big-endian bytes")
    void vpciNodeBytes() {
        FdtNode n = node(build(WORKED_EXAMPLE), "/pcie@10000000");
        assertThat(n.properties().stream().map(FdtProperty::name)).containsExactly("compatible", "device_type", "reg",
                "bus-range", "#address-cells", "#size-cells", "status", "ranges");
        String h = n.properties().stream().map(p -> p.name() + "=" + HexFormat.of().formatHex(p.value()))
                .collect(Collectors.joining("\n"));
        assertThat(h).isEqualTo(String.join("\n",
                "compatible=7063692d686f73742d6563616d2d67656e6572696300",
                "device_type=70636900",
                "reg=00000000100000000000000010000000",
                "bus-range=00000000000000ff",
                "#address-cells=00000003",
                "#size-cells=00000002",
                "status=6f6b617900",
                "ranges=02000000" + "0000000023000000" + "0000000023000000" + "0000000010000000"
                        + "43000000" + "0000000100000000" + "0000000100000000" + "0000000100000000"));
        assertThat(n.properties().stream().mapToInt(FdtProperty::length))
                .containsExactly(22, 4, 16, 8, 4, 4, 5, 56);
        assertThat(n.children()).isEmpty();
    }

    @Test
    @DisplayName("Without pci= there is no vPCI node")
    void noVpciNodeWithoutPci() {
        Fdt fdt = build("memory = 1024\nvcpus = 2\n");
        assertThat(fdt.node("/pcie@10000000")).isEmpty();
        assertThat(build("memory = 1024\npci = [ ]\n").node("/pcie@10000000")).isEmpty();
    }

    @Test
    @DisplayName("The vPCI node is byte-identical across memory sizes, vCPU counts, GIC versions and device lists")
    void vpciNodeIndependentOfEverythingElse() {
        FdtNode reference = node(build(WORKED_EXAMPLE), "/pcie@10000000");
        List<String> configs = List.of(
                "memory = 5120\nvcpus = 17\ngic_version = \"v2\"\npci = [ \"0000:01:00.0\" ]\n",
                "memory = 64\nmaxvcpus = 128\npci = [ \"03:00.*@1\", \"name=nic\", \"ffff:ff:1f.7,seize=1\" ]\n",
                "memory = 3072\nvuart = \"sbsa_uart\"\nextra = \"console=ttyAMA0\"\npci = [ \"04:00.1\" ]\n");
        for (String cfg : configs) {
            assertThat(node(build(cfg), "/pcie@10000000")).isEqualTo(reference);
        }
        assertThat(GuestDtBuilder.vpciNode(VpciNodeExtras.NONE)).isEqualTo(reference);
    }

    @Test
    @DisplayName("A full-profile msi-map is appended after the upstream properties without changing them")
    void vpciExtrasAppendOnly() {
        XlConfig cfg = XlConfig.parse(WORKED_EXAMPLE, "t.cfg");
        VpciNodeExtras extras = new VpciNodeExtras(Optional.of(new VpciNodeExtras.MsiMap(0, 0xfdea, 0, 0x10000)),
                Optional.of(FdtNode.builder("its").property(FdtProperty.empty("msi-controller")).build()));
        Fdt fdt = GuestDtBuilder.forConfig(cfg).vpciExtras(extras).build();
        FdtNode upstream = GuestDtBuilder.vpciNode(VpciNodeExtras.NONE);
        FdtNode full = node(fdt, "/pcie@10000000");
        assertThat(full.properties().subList(0, 8)).isEqualTo(upstream.properties());
        assertThat(hex(fdt, "/pcie@10000000", "msi-map")).isEqualTo("000000000000fdea0000000000010000");
        assertThat(node(fdt, "/interrupt-controller@3001000").children().stream().map(FdtNode::name))
                .containsExactly("its");
    }

    @Test
    @DisplayName("guestVits: an ITS node at 0x04020000 + 128 KiB under the GIC and msi-map <0 &its 0 0x10000> on the vPCI node")
    void guestVitsExtras() {
        Fdt fdt = GuestDtBuilder.forConfig(XlConfig.parse(WORKED_EXAMPLE, "t.cfg")).vpciExtras(VpciNodeExtras.guestVits())
                .build();
        assertThat(hex(fdt, "/pcie@10000000", "msi-map")).isEqualTo("000000000000fdea0000000000010000");
        assertThat(hex(fdt, "/interrupt-controller@3001000/msi-controller@4020000", "reg"))
                .isEqualTo("0000000004020000" + "0000000000020000");
        assertThat(hex(fdt, "/interrupt-controller@3001000/msi-controller@4020000", "phandle")).isEqualTo("0000fdea");
    }

    @Test
    @DisplayName("1 GiB: bank 0 holds 1 GiB, bank 1 is NOP-ed, extended regions match the worked example")
    void oneGib() {
        Fdt fdt = build(WORKED_EXAMPLE);
        assertThat(hex(fdt, "/memory@40000000", "reg")).isEqualTo("00000000400000000000000040000000");
        assertThat(fdt.node("/memory@200000000")).isEmpty();
        assertThat(hex(fdt, "/hypervisor", "reg")).isEqualTo("0000000038000000" + "0000000001000000"
                + "0000000080000000" + "0000000080000000"
                + "0000000200000000" + "000000fe00000000");
    }

    @Test
    @DisplayName("3 GiB: bank 0 is full, bank 1 empty; only bank 1 yields an extended region")
    void threeGib() {
        Fdt fdt = build("memory = 3072\n");
        assertThat(hex(fdt, "/memory@40000000", "reg")).isEqualTo("000000004000000000000000c0000000");
        assertThat(fdt.node("/memory@200000000")).isEmpty();
        assertThat(hex(fdt, "/hypervisor", "reg")).isEqualTo("0000000038000000" + "0000000001000000"
                + "0000000200000000" + "000000fe00000000");
    }

    @Test
    @DisplayName("5 GiB: 3 GiB in bank 0, 2 GiB in bank 1, one extended region after bank 1's RAM")
    void fiveGib() {
        Fdt fdt = build("memory = 5120\n");
        assertThat(hex(fdt, "/memory@40000000", "reg")).isEqualTo("000000004000000000000000c0000000");
        assertThat(hex(fdt, "/memory@200000000", "reg")).isEqualTo("00000002000000000000000080000000");
        assertThat(hex(fdt, "/hypervisor", "reg")).isEqualTo("0000000038000000" + "0000000001000000"
                + "0000000280000000" + "000000fd80000000");
        assertThat(fdt.root().children().stream().map(FdtNode::name).collect(Collectors.toList()))
                .containsSubsequence("memory@40000000", "memory@200000000", "interrupt-controller@3001000");
    }

    @Test
    @DisplayName("maxmem, not memory, decides the populated RAM; unaligned sizes round up to 2 MiB for regions")
    void maxmemAndAlignment() {
        GuestRamLayout l = GuestRamLayout.split(0x40100000L); // 1 GiB + 1 MiB
        assertThat(l.extendedRegions(40, List.of()).get(0)).isEqualTo(new AddressRange(0x80200000L, 0xFFFFFFFFL));
        Fdt fdt = build("memory = 512\nmaxmem = 2048\n");
        assertThat(hex(fdt, "/memory@40000000", "reg")).isEqualTo("00000000400000000000000080000000");
    }

    @Test
    @DisplayName("iomem ranges are cut out of extended regions and pieces under 64 MiB are dropped")
    void iomemExcluded() {
        GuestRamLayout l = GuestRamLayout.split(1L << 30);
        List<AddressRange> r = l.extendedRegions(36, List.of(new AddressRange(0x90000000L, 0x90FFFFFFL),
                new AddressRange(0x82000000L, 0x82FFFFFFL)));
        assertThat(r).containsExactly(new AddressRange(0x83000000L, 0x8FFFFFFFL),
                new AddressRange(0x91000000L, 0xFFFFFFFFL), new AddressRange(0x200000000L, 0xFFFFFFFFFL));
        assertThat(l.extendedRegions(32, List.of())).containsExactly(new AddressRange(0x80000000L, 0xFFFFFFFFL));
    }

    @Test
    @DisplayName("No extended region ever intersects a vPCI window")
    void extendedRegionsAvoidVpciWindows() {
        for (long mib : new long[] {32, 1024, 3072, 3073, 5120, 1040384}) {
            for (int bits : new int[] {32, 36, 40, 44, 48}) {
                for (AddressRange r : GuestRamLayout.split(mib << 20).extendedRegions(bits, List.of())) {
                    for (AddressRange w : GuestMemoryMap.vpciWindows()) {
                        assertThat(r.overlaps(w)).as("%s vs %s", r, w).isFalse();
                    }
                }
            }
        }
    }

    @Test
    @DisplayName("The vPCI windows overlap neither each other nor any other fixed region of the guest map")
    void memoryMapInvariant() {
        List<AddressRange> w = GuestMemoryMap.vpciWindows();
        for (int i = 0; i < w.size(); i++) {
            for (int j = i + 1; j < w.size(); j++) {
                assertThat(w.get(i).overlaps(w.get(j))).isFalse();
            }
            for (AddressRange other : GuestMemoryMap.fixedNonVpciRegions()) {
                assertThat(w.get(i).overlaps(other)).as("%s vs %s", w.get(i), other).isFalse();
            }
        }
        assertThat(GuestMemoryMap.GUEST_RAM_MAX).isEqualTo(0xFEC0000000L);
    }

    @Test
    @DisplayName("GICv2 and GICv3 nodes carry libxl's compatibles, cells, reg and phandles")
    void gicNodes() {
        Fdt v2 = build("gic_version = \"v2\"\n");
        FdtNode g2 = node(v2, "/interrupt-controller@3001000");
        assertThat(g2.properties().stream().map(FdtProperty::name)).containsExactly("compatible", "#interrupt-cells",
                "#address-cells", "interrupt-controller", "reg", "linux,phandle", "phandle");
        assertThat(g2.property("compatible").orElseThrow().asStringList())
                .containsExactly("arm,cortex-a15-gic", "arm,cortex-a9-gic");
        assertThat(hex(v2, "/interrupt-controller@3001000", "reg"))
                .isEqualTo("0000000003001000000000000000100000000000030020000000000000002000");
        assertThat(g2.property("interrupt-controller").orElseThrow().length()).isZero();
        assertThat(hex(v2, "/interrupt-controller@3001000", "phandle")).isEqualTo("0000fde8");
        Fdt v3 = build("gic_version = \"v3\"\n");
        assertThat(hex(v3, "/interrupt-controller@3001000", "reg"))
                .isEqualTo("0000000003001000000000000001000000000000030200000000000001000000");
        Fdt native2 = GuestDtBuilder.forConfig(XlConfig.parse("", "t.cfg")).hostGicVersion(GicVersion.V2).build();
        assertThat(node(native2, "/interrupt-controller@3001000").property("compatible").orElseThrow().asStringList())
                .containsExactly("arm,cortex-a15-gic", "arm,cortex-a9-gic");
    }

    @Test
    @DisplayName("Timer, hypervisor and SBSA UART interrupts use libxl's <ppi, irq-16/32, 0xf08/0xf04> triples")
    void interruptsAndUart() {
        Fdt fdt = GuestDtBuilder.forConfig(XlConfig.parse("vuart = \"sbsa_uart\"\n", "t.cfg"))
                .clockFrequency(62500000).build();
        assertThat(hex(fdt, "/timer", "interrupts"))
                .isEqualTo("000000010000000d00000f08" + "000000010000000e00000f08" + "000000010000000b00000f08");
        assertThat(hex(fdt, "/timer", "clock-frequency")).isEqualTo("03b9aca0");
        assertThat(hex(fdt, "/hypervisor", "interrupts")).isEqualTo("000000010000000f00000f08");
        assertThat(node(fdt, "/hypervisor").property("compatible").orElseThrow().asStringList())
                .containsExactly("xen,xen-4.23", "xen,xen");
        assertThat(node(fdt, "/sbsa-pl011").properties().stream().map(FdtProperty::name))
                .containsExactly("compatible", "reg", "interrupts", "interrupt-parent", "current-speed");
        assertThat(hex(fdt, "/sbsa-pl011", "interrupts")).isEqualTo("000000000000000000000f04");
        assertThat(hex(fdt, "/sbsa-pl011", "reg")).isEqualTo("00000000220000000000000000001000");
        assertThat(fdt.root().children().stream().map(FdtNode::name)).endsWith("hypervisor", "sbsa-pl011");
        assertThat(build("").node("/timer").orElseThrow().hasProperty("clock-frequency")).isFalse();
    }

    @Test
    @DisplayName("cpu nodes follow the mpidr rule up to 128 vCPUs and more are refused")
    void cpusAndMpidr() {
        assertThat(GuestDtBuilder.mpidr(15)).isEqualTo(0xf);
        assertThat(GuestDtBuilder.mpidr(16)).isEqualTo(0x100);
        assertThat(GuestDtBuilder.mpidr(127)).isEqualTo(0x70f);
        Fdt fdt = build("vcpus = 2\nmaxvcpus = 18\n");
        FdtNode cpus = node(fdt, "/cpus");
        assertThat(cpus.children()).hasSize(18);
        assertThat(cpus.children().get(17).name()).isEqualTo("cpu@101");
        assertThat(hex(fdt, "/cpus/cpu@101", "reg")).isEqualTo("00000101");
        assertThat(hex(fdt, "/cpus", "#size-cells")).isEqualTo("00000000");
        assertThatThrownBy(() -> build("vcpus = 129\n")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("129");
    }

    @Test
    @DisplayName("chosen holds bootargs, initrd placeholders and an injectable 128-byte rng-seed, in that order")
    void chosenAndRngSeed() {
        XlConfig cfg = XlConfig.parse("root = \"/dev/xvda\"\nextra = \"ro\"\nramdisk = \"initrd\"\n", "t.cfg");
        Fdt a = GuestDtBuilder.forConfig(cfg).rngSeed(RngSeedSource.seeded(42)).initrd(0x48000000L, 0x48100000L).build();
        Fdt b = GuestDtBuilder.forConfig(cfg).rngSeed(RngSeedSource.seeded(42)).initrd(0x48000000L, 0x48100000L).build();
        Fdt c = GuestDtBuilder.forConfig(cfg).rngSeed(RngSeedSource.seeded(43)).build();
        FdtNode chosen = node(a, "/chosen");
        assertThat(chosen.properties().stream().map(FdtProperty::name))
                .containsExactly("bootargs", "linux,initrd-start", "linux,initrd-end", "rng-seed");
        assertThat(chosen.property("bootargs").orElseThrow().asString()).isEqualTo("root=/dev/xvda ro");
        assertThat(hex(a, "/chosen", "linux,initrd-start")).isEqualTo("0000000048000000");
        assertThat(hex(c, "/chosen", "linux,initrd-end")).isEqualTo("0000000000000000");
        assertThat(chosen.property("rng-seed").orElseThrow().length()).isEqualTo(128);
        assertThat(a).isEqualTo(b);
        assertThat(node(c, "/chosen").property("rng-seed")).isNotEqualTo(chosen.property("rng-seed"));
        assertThat(node(build(""), "/chosen").properties().stream().map(FdtProperty::name)).containsExactly("rng-seed");
    }
}
