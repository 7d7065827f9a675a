package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.pci.PciRegs;

@DisplayName("Standard header masks for type 0 and type 1")
class HeaderMasksTest {

    private static PciFunction conventional() {
        return ConfigImage.endpoint(0x1234, 0x5678).revision(0x01).classCode(0x020000).subsystem(0xabcd, 0xef01)
                .interruptPin(1).bar(0, BarKind.MEM32, 0x1000, false).bar(1, BarKind.IO, 0x10, false)
                .build().newFunction();
    }

    private static PciFunction pcieMemOnly() {
        return ConfigImage.endpoint(0x1234, 0x5678).bar(0, BarKind.MEM32, 0x1000, false)
                .pcie(PciRegs.PCI_EXP_TYPE_ENDPOINT).build().newFunction();
    }

    @Test
    @DisplayName("COMMAND of a conventional function with I/O and memory BARs takes 0x07ff except bit 7")
    void commandConventional() {
        PciFunction f = conventional();
        f.config().write(0x04, 2, 0xffff);
        assertThat(f.config().read(0x04, 2)).isEqualTo(0x077f);
    }

    @Test
    @DisplayName("COMMAND of a PCIe function without I/O BARs hardwires IO and the legacy bits")
    void commandPcie() {
        PciFunction f = pcieMemOnly();
        f.config().write(0x04, 2, 0xffff);
        assertThat(f.config().read(0x04, 2)).isEqualTo(0x0546);
    }

    @Test
    @DisplayName("STATUS error bits are RW1C: writing 1 clears only them")
    void statusRw1c() {
        PciFunction f = conventional();
        f.config().setBits(0x06, 2, 0xf900 | PciRegs.PCI_STATUS_INTERRUPT);
        assertThat(f.config().read(0x06, 2)).isEqualTo(0xf908);
        f.config().write(0x06, 2, 0x2100);
        assertThat(f.config().read(0x06, 2)).isEqualTo(0xd808);
        f.config().write(0x06, 2, 0xffff);
        assertThat(f.config().read(0x06, 2)).isEqualTo(0x0008);
    }

    @Test
    @DisplayName("a dword write to COMMAND/STATUS sets COMMAND and clears STATUS bits in one go")
    void commandStatusDword() {
        PciFunction f = conventional();
        f.config().setBits(0x06, 2, 0x8000);
        f.config().write(0x04, 4, 0x80000006);
        assertThat(f.config().read(0x04, 4)).isEqualTo(0x00000006);
    }

    @Test
    @DisplayName("IDs, class, header type, subsystem, capability pointer and pin are immune to writes")
    void readOnlyFields() {
        PciFunction f = conventional();
        byte[] before = f.config().toBytes();
        for (int reg : new int[] {0x00, 0x08, 0x2c, 0x34}) {
            f.config().write(reg, 4, 0xffffffff);
            f.config().write(reg, 4, 0);
        }
        f.config().write(0x0e, 1, 0xff);
        f.config().write(0x3d, 1, 0x00);
        byte[] after = f.config().toBytes();
        assertThat(f.config().read(0x00, 4)).isEqualTo(0x56781234);
        assertThat(f.config().read(0x08, 4)).isEqualTo(0x02000001);
        assertThat(f.config().read(0x2c, 4)).isEqualTo(0xef01abcd);
        assertThat(f.config().read(0x3d, 1)).isEqualTo(0x01);
        assertThat(after).isEqualTo(before);
    }

    @Test
    @DisplayName("cache line size, interrupt line are RW; the latency timer only on conventional PCI")
    void miscRw() {
        PciFunction f = conventional();
        f.config().write(0x0c, 4, 0xffffffff);
        assertThat(f.config().read(0x0c, 4)).isEqualTo(0x0000ffff);
        f.config().write(0x3c, 4, 0xffffffff);
        assertThat(f.config().read(0x3c, 4)).isEqualTo(0x000001ff);
        PciFunction p = pcieMemOnly();
        p.config().write(0x0c, 4, 0xffffffff);
        assertThat(p.config().read(0x0c, 4)).isEqualTo(0x000000ff);
    }

    @Test
    @DisplayName("type 1: bus numbers, windows, upper halves and bridge control take their masks")
    void bridgeMasks() {
        PciFunction br = ConfigImage.bridge(0x1b36, 0x000c).classCode(0x060400)
                .pcie(PciRegs.PCI_EXP_TYPE_ROOT_PORT).build().newFunction();
        var cs = br.config();
        cs.write(0x18, 4, 0xffffffff);
        assertThat(cs.read(0x18, 4)).as("sec latency RO on PCIe").isEqualTo(0x00ffffff);
        cs.write(0x1c, 2, 0xffff);
        assertThat(cs.read(0x1c, 2)).isEqualTo(0xf1f1);
        cs.write(0x20, 4, 0xffffffff);
        assertThat(cs.read(0x20, 4)).isEqualTo(0xfff0fff0);
        cs.write(0x24, 4, 0xffffffff);
        assertThat(cs.read(0x24, 4)).isEqualTo(0xfff1fff1);
        cs.write(0x28, 4, 0x12345678);
        cs.write(0x2c, 4, 0x9abcdef0);
        cs.write(0x30, 4, 0xffffffff);
        assertThat(cs.read(0x28, 4)).isEqualTo(0x12345678);
        assertThat(cs.read(0x2c, 4)).isEqualTo(0x9abcdef0);
        assertThat(cs.read(0x30, 4)).isEqualTo(0xffffffff);
        cs.write(0x3c, 4, 0xffffffff);
        assertThat(cs.read(0x3c, 4)).as("bridge control 0x3f; secondary reset tagged").isEqualTo(0x003f00ff);
    }

    @Test
    @DisplayName("type 1: secondary status error bits are RW1C")
    void secondaryStatus() {
        PciFunction br = ConfigImage.bridge(0x1b36, 0x000c).build().newFunction();
        br.config().setBits(0x1e, 2, 0xf900);
        br.config().write(0x1c, 4, 0x41000000);
        assertThat(br.config().read(0x1e, 2)).isEqualTo(0xb800);
    }
}
