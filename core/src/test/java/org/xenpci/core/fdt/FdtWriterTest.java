package org.xenpci.core.fdt;

import org.xenpci.core.testkit.DtcTool;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The writer lays blobs out as dtc 1.6.1 does")
class FdtWriterTest {

    @Test
    @DisplayName("header: version 17, last_comp 16, reservation map at 0x28, struct then strings, no padding")
    void headerFields() {
        byte[] b = Blobs.small();
        assertThat(Blobs.u32(b, 0x00)).isEqualTo(0xd00dfeed);
        assertThat(Blobs.u32(b, 0x04)).as("totalsize").isEqualTo(0x97);
        assertThat(Blobs.u32(b, 0x08)).as("off_dt_struct").isEqualTo(0x48);
        assertThat(Blobs.u32(b, 0x0C)).as("off_dt_strings").isEqualTo(0x88);
        assertThat(Blobs.u32(b, 0x10)).as("off_mem_rsvmap").isEqualTo(0x28);
        assertThat(Blobs.u32(b, 0x14)).as("version").isEqualTo(17);
        assertThat(Blobs.u32(b, 0x18)).as("last_comp_version").isEqualTo(16);
        assertThat(Blobs.u32(b, 0x1C)).as("boot_cpuid_phys").isZero();
        assertThat(Blobs.u32(b, 0x20)).as("size_dt_strings").isEqualTo(15);
        assertThat(Blobs.u32(b, 0x24)).as("size_dt_struct").isEqualTo(0x40);
        assertThat(Blobs.u32(b, 0x2C)).as("reservation address low word").isEqualTo(0x1000);
        assertThat(Blobs.u32(b, 0x34)).as("reservation size low word").isEqualTo(0x2000);
        assertThat(java.util.Arrays.copyOfRange(b, 0x38, 0x48)).as("terminator").containsOnly(0);
    }

    @Test
    @DisplayName("a name equal to the tail of a stored name reuses it (dtc stringtable_insert)")
    void stringTableSharesTails() {
        FdtWriter.StringTable t = new FdtWriter.StringTable();
        assertThat(t.offsetOf("#address-cells")).isZero();
        assertThat(t.offsetOf("cells")).isEqualTo(9);
        assertThat(t.offsetOf("address-cells")).isEqualTo(1);
        assertThat(t.offsetOf("ells")).isEqualTo(10);
        assertThat(t.offsetOf("s")).isEqualTo(13);
        assertThat(t.offsetOf("reg")).isEqualTo(15);
        assertThat(t.offsetOf("#size-cells")).isEqualTo(19);
        assertThat(t.offsetOf("size-cells")).isEqualTo(20);
        assertThat(t.offsetOf("#address-cells")).isZero();
        assertThat(new String(t.bytes(), java.nio.charset.StandardCharsets.US_ASCII))
                .isEqualTo("#address-cells\0reg\0#size-cells\0");
    }

    @Test
    @DisplayName("a name stored before its longer form is not shared backwards: dtc appends the longer one")
    void noSharingWithALaterLongerName() {
        FdtWriter.StringTable t = new FdtWriter.StringTable();
        assertThat(t.offsetOf("cells")).isZero();
        assertThat(t.offsetOf("#address-cells")).isEqualTo(6);
        assertThat(t.offsetOf("cells")).isZero();
        assertThat(t.offsetOf("address-cells")).isEqualTo(7);
    }

    @Test
    @DisplayName("dtc shares string tails exactly like our writer")
    void tailSharingMatchesDtc() {
        String dts = "/dts-v1/;\n/ {\n\tcells;\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\tsize-cells;\n"
                + "\taddress-cells;\n\tells;\n\ts;\n\tx {\n\t\tcells;\n\t\tls;\n\t};\n};\n";
        byte[] dtb = DtcTool.compileDts(dts);
        assertThat(FdtWriter.write(FdtReader.read(dtb))).isEqualTo(dtb);
        String strings = new String(dtb, Blobs.u32(dtb, 0x0C), Blobs.u32(dtb, 0x20), java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(strings).isEqualTo("cells\0#address-cells\0#size-cells\0");
    }

    @Test
    @DisplayName("property values are zero-padded to 4 bytes and node names NUL-terminated then padded")
    void padding() {
        FdtNode root = FdtNode.root().child(FdtNode.builder("abc").property(FdtProperty.bytes("b", new byte[] {7})).build()).build();
        byte[] b = FdtWriter.write(Fdt.of(root));
        // struct at 0x38: BEGIN, "" pad, BEGIN @0x40, "abc\0" @0x44, PROP @0x48, len, nameoff, 07 00 00 00 @0x54
        assertThat(java.util.Arrays.copyOfRange(b, 0x44, 0x48)).containsExactly('a', 'b', 'c', 0);
        assertThat(Blobs.u32(b, 0x4C)).isEqualTo(1);
        assertThat(java.util.Arrays.copyOfRange(b, 0x54, 0x58)).containsExactly(7, 0, 0, 0);
        assertThat(Blobs.u32(b, 0x58)).isEqualTo(2); // FDT_END_NODE of abc
    }
}
