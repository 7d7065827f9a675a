package org.xenpci.core.fdt;

import org.xenpci.core.testkit.DtcTool;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("DTS output")
class DtsWriterTest {

    private static FdtNode gic(int phandle) {
        return FdtNode.builder("intc@8000000")
                .property(FdtProperty.empty("interrupt-controller"))
                .property(FdtProperty.u32("#interrupt-cells", 3))
                .property(FdtProperty.u32("#address-cells", 2))
                .property(FdtProperty.u32("phandle", phandle))
                .build();
    }

    @Test
    @DisplayName("a small tree prints exactly in dtc's layout with a label and &reference")
    void exactText() {
        FdtNode uart = FdtNode.builder("pl011@9000000")
                .property(FdtProperty.strings("compatible", "arm,pl011", "arm,primecell"))
                .property(FdtProperty.u32("interrupts", 0, 1, 4))
                .property(FdtProperty.u32("interrupt-parent", 0x8002))
                .property(FdtProperty.bytes("mac", new byte[] {0, 0x0a, 0x35}))
                .property(FdtProperty.empty("dma-coherent"))
                .build();
        FdtNode root = FdtNode.root().property(FdtProperty.u32("#address-cells", 2)).child(gic(0x8002)).child(uart).build();
        String dts = DtsWriter.write(new Fdt(root, List.of(new MemReserve(0x48000000L, 0x100000)), 0));
        assertThat(dts).isEqualTo("""
                /dts-v1/;

                /memreserve/\t0x0000000048000000 0x0000000000100000;
                / {
                \t#address-cells = <0x02>;

                \tintc_8000000: intc@8000000 {
                \t\tinterrupt-controller;
                \t\t#interrupt-cells = <0x03>;
                \t\t#address-cells = <0x02>;
                \t\tphandle = <0x8002>;
                \t};

                \tpl011@9000000 {
                \t\tcompatible = "arm,pl011", "arm,primecell";
                \t\tinterrupts = <0x00 0x01 0x04>;
                \t\tinterrupt-parent = <&intc_8000000>;
                \t\tmac = [00 0a 35];
                \t\tdma-coherent;
                \t};
                };
                """);
    }

    @Test
    @DisplayName("interrupt-map entries reference the parent after child address and specifier cells")
    void interruptMap() {
        FdtNode pcie = FdtNode.builder("pcie@10000000")
                .property(FdtProperty.u32("#address-cells", 3))
                .property(FdtProperty.u32("#interrupt-cells", 1))
                .property(FdtProperty.u32("interrupt-map",
                        0, 0, 0, 1, 0x8002, 0, 0, 0, 3, 4,
                        0x800, 0, 0, 1, 0x8002, 0, 0, 0, 4, 4))
                .build();
        String dts = DtsWriter.write(Fdt.of(FdtNode.root().child(gic(0x8002)).child(pcie).build()));
        assertThat(dts).contains("interrupt-map = <0x00 0x00 0x00 0x01 &intc_8000000 0x00 0x00 0x00 0x03 0x04 "
                + "0x800 0x00 0x00 0x01 &intc_8000000 0x00 0x00 0x00 0x04 0x04>;");
    }

    @Test
    @DisplayName("values that do not fit their binding fall back to raw cells instead of failing")
    void fallbackToRawCells() {
        FdtNode pcie = FdtNode.builder("pcie")
                .property(FdtProperty.u32("#interrupt-cells", 1))
                .property(FdtProperty.u32("interrupt-map", 0, 0, 0, 1, 0x8002, 0, 0)) // too short
                .property(FdtProperty.u32("interrupt-parent", 0x9999)) // unknown phandle
                .property(FdtProperty.u32("msi-map", 0, 0x8002, 0)) // not a multiple of 4 cells
                .property(FdtProperty.u32("clocks", 0x8002, 1)) // target lacks #clock-cells
                .build();
        String dts = DtsWriter.write(Fdt.of(FdtNode.root().child(gic(0x8002)).child(pcie).build()));
        assertThat(dts).contains("interrupt-map = <0x00 0x00 0x00 0x01 0x8002 0x00 0x00>;")
                .contains("interrupt-parent = <0x9999>;")
                .contains("msi-map = <0x00 0x8002 0x00>;")
                .contains("clocks = <0x8002 0x01>;");
    }

    @Test
    @DisplayName("labels are unique, digit-safe, and a root phandle is referenced by path")
    void labels() {
        FdtNode a = FdtNode.builder("a").child(FdtNode.builder("clk").property(FdtProperty.u32("phandle", 1))
                .property(FdtProperty.u32("#clock-cells", 0))).build();
        FdtNode b = FdtNode.builder("b").child(FdtNode.builder("clk").property(FdtProperty.u32("phandle", 2))
                .property(FdtProperty.u32("#clock-cells", 0))).build();
        FdtNode digit = FdtNode.builder("1p8v").property(FdtProperty.u32("phandle", 3)).build();
        FdtNode user = FdtNode.builder("user").property(FdtProperty.u32("clocks", 1, 2))
                .property(FdtProperty.u32("interrupt-parent", 4))
                .property(FdtProperty.u32("power-supply", 3)).build();
        FdtNode root = FdtNode.root().property(FdtProperty.u32("phandle", 4)).property(FdtProperty.u32("#interrupt-cells", 1))
                .child(a).child(b).child(digit).child(user).build();
        String dts = DtsWriter.write(Fdt.of(root));
        assertThat(dts).contains("\t\tclk: clk {").contains("\t\tclk_2: clk {").contains("\tn1p8v: 1p8v {")
                .contains("clocks = <&clk &clk_2>;")
                .contains("interrupt-parent = <&{/}>;")
                .as("unknown bindings stay raw").contains("power-supply = <0x03>;");
    }

    @Test
    @DisplayName("nodes sharing one phandle value get no label and stay raw")
    void duplicatePhandles() {
        FdtNode root = FdtNode.root()
                .child(FdtNode.builder("x").property(FdtProperty.u32("phandle", 7)))
                .child(FdtNode.builder("y").property(FdtProperty.u32("phandle", 7)))
                .child(FdtNode.builder("z").property(FdtProperty.u32("interrupt-parent", 7)))
                .build();
        String dts = DtsWriter.write(Fdt.of(root));
        assertThat(dts).doesNotContain(": x").doesNotContain(": y").contains("interrupt-parent = <0x07>;");
    }

    @Test
    @DisplayName("strings, cells and bytes are chosen as dtc guesses, with escapes")
    void valueShapes() {
        FdtNode root = FdtNode.root()
                .property(FdtProperty.string("s", "tab\there \"q\" back\\slash"))
                .property(FdtProperty.u32("zero", 0))
                .property(FdtProperty.bytes("nul", new byte[] {0}))
                .property(FdtProperty.bytes("high", new byte[] {'c', (byte) 0xe9, 0}))
                .property(FdtProperty.strings("list", "a", "", "bc"))
                .property(FdtProperty.strings("mostly-nul", "a", "", "b"))
                .build();
        String dts = DtsWriter.write(Fdt.of(root));
        assertThat(dts).contains("s = \"tab\\there \\\"q\\\" back\\\\slash\";")
                .contains("zero = <0x00>;")
                .contains("nul = [00];")
                .contains("high = [63 e9 00];")
                .contains("list = \"a\", \"\", \"bc\";")
                .as("more NULs than text is not a string list").contains("mostly-nul = [61 00 00 62 00];");
    }

    @Test
    @DisplayName("a programmatic tree using every reference kind compiles through dtc without warnings to our blob")
    void everyReferenceKindThroughDtc() {
        Fdt fdt = FdtReader.read(DtcTool.compileDts(DtcTool.resource("edge-cases.dts")));
        FdtNode consumer = FdtNode.builder("consumer3")
                .property(FdtProperty.u32("mboxes", fdt.node("/providers/mailbox").orElseThrow().phandle().getAsInt(), 5))
                .build();
        Fdt edited = fdt.withChild("/", consumer);
        String dts = DtsWriter.write(edited);
        assertThat(dts).contains("mboxes = <&mailbox 0x05>;");
        DtcTool.DtcResult r = DtcTool.compile(dts);
        assertThat(r.stderr()).isEmpty();
        assertThat(r.output()).isEqualTo(FdtWriter.write(edited));
    }
}
