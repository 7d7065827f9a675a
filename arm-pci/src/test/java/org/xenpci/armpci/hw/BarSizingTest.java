package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.pci.PciRegs;

@DisplayName("BAR sizing (PCI Local Bus 3.0 6.2.5.1)")
class BarSizingTest {

    private static PciFunction endpoint() {
        return ConfigImage.endpoint(0x1234, 0x5678)
                .bar(0, BarKind.MEM32, 0x1000, false)
                .bar(1, BarKind.IO, 0x20, false)
                .bar(2, BarKind.MEM64, 0x4000, true)
                .bar(4, BarKind.MEM64, 8L << 30, true)
                .rom(0x40000)
                .build().newFunction();
    }

    private static int size(PciFunction f, int reg) {
        f.config().write(reg, 4, 0xffffffff);
        return f.config().read(reg, 4);
    }

    @Test
    @DisplayName("a 4 KiB MEM32 BAR reads back 0xfffff000 after all-ones")
    void mem32() {
        assertThat(size(endpoint(), 0x10)).isEqualTo(0xfffff000);
    }

    @Test
    @DisplayName("a 32-byte I/O BAR reads back 0xffffffe1: address bits below 32 zero, bit 0 set")
    void io() {
        assertThat(size(endpoint(), 0x14)).isEqualTo(0xffffffe1);
    }

    @Test
    @DisplayName("a 16 KiB prefetchable MEM64 BAR: low 0xffffc00c, high all-ones")
    void mem64Small() {
        PciFunction f = endpoint();
        assertThat(size(f, 0x18)).isEqualTo(0xffffc00c);
        assertThat(size(f, 0x1c)).isEqualTo(0xffffffff);
    }

    @Test
    @DisplayName("an 8 GiB MEM64 BAR: low dword keeps only its flags 0x0000000c, high reads 0xfffffffe")
    void mem64Above4G() {
        PciFunction f = endpoint();
        assertThat(size(f, 0x20)).isEqualTo(0x0000000c);
        assertThat(size(f, 0x24)).isEqualTo(0xfffffffe);
        f.config().write(0x20, 4, 0x0);
        f.config().write(0x24, 4, 0x00000081); // bit 0 of the high dword is below 8 GiB: RO zero
        assertThat(f.barAddress(4)).isEqualTo(0x80_0000_0000L);
    }

    @Test
    @DisplayName("a 256 KiB ROM reads back 0xfffc0001 (address mask and enable bit)")
    void rom() {
        PciFunction f = endpoint();
        assertThat(size(f, 0x30)).isEqualTo(0xfffc0001);
        f.config().write(0x30, 4, 0x10000000);
        assertThat(f.config().read(0x30, 4)).isEqualTo(0x10000000);
        assertThat(f.barAddress(BarSpec.ROM_INDEX)).isEqualTo(0x10000000L);
    }

    @Test
    @DisplayName("an unimplemented BAR reads 0 before and after all-ones, and a missing ROM too")
    void unimplemented() {
        PciFunction f = ConfigImage.endpoint(0x1234, 0x5678).bar(0, BarKind.MEM32, 0x1000, false).build().newFunction();
        for (int reg = 0x14; reg <= 0x24; reg += 4) {
            assertThat(size(f, reg)).as("BAR at 0x%x", reg).isZero();
        }
        assertThat(size(f, 0x30)).isZero();
        assertThat(f.bar(1)).isEmpty();
    }

    @Test
    @DisplayName("a sized BAR restores the address software writes back")
    void restore() {
        PciFunction f = endpoint();
        size(f, 0x10);
        f.config().write(0x10, 4, 0x10041234);
        assertThat(f.config().read(0x10, 4)).isEqualTo(0x10041000);
        assertThat(f.barAddress(0)).isEqualTo(0x10041000L);
    }

    @Test
    @DisplayName("fromConfig takes BAR types from the data and drops address bits below the size")
    void fromConfigKeepsProgrammedAddress() {
        byte[] cfg = ConfigImage.endpoint(0x1234, 0x5678).build().bytes();
        cfg[0x10] = 0x0c; // MEM64 prefetchable
        cfg[0x11] = 0x34;
        cfg[0x12] = 0x12;
        cfg[0x13] = 0x10;
        cfg[0x14] = 0x01; // upper half
        PciFunction f = PciFunction.fromConfig(cfg, Map.of(0, 0x10000L), 0);
        assertThat(f.bar(0)).contains(new BarSpec(0, BarKind.MEM64, 0x10000, true));
        assertThat(f.config().read(0x10, 4)).isEqualTo(0x1012000c);
        assertThat(f.barAddress(0)).isEqualTo(0x1_1012_0000L);
    }

    @Test
    @DisplayName("fromConfig rejects non-power-of-two and too-small sizes naming the BAR")
    void badSizes() {
        byte[] cfg = ConfigImage.endpoint(0x1234, 0x5678).bar(1, BarKind.IO, 4, false).build().bytes();
        assertThatThrownBy(() -> PciFunction.fromConfig(cfg, Map.of(0, 0x3000L), 0))
                .isInstanceOf(HardwareConfigException.class).hasMessage("BAR 0 (MEM32): size 0x3000 is not a power of two");
        assertThatThrownBy(() -> PciFunction.fromConfig(cfg, Map.of(0, 8L), 0))
                .isInstanceOf(HardwareConfigException.class).hasMessage("BAR 0 (MEM32): size 0x8 below the minimum 0x10");
        assertThatThrownBy(() -> PciFunction.fromConfig(cfg, Map.of(1, 2L), 0))
                .isInstanceOf(HardwareConfigException.class).hasMessage("BAR 1 (IO): size 0x2 below the minimum 0x4");
        assertThatThrownBy(() -> PciFunction.fromConfig(cfg, Map.of(), 0x400))
                .isInstanceOf(HardwareConfigException.class).hasMessage("BAR 6 (ROM): size 0x400 below the minimum 0x800");
        assertThatThrownBy(() -> PciFunction.fromConfig(cfg, Map.of(6, 0x1000L), 0))
                .isInstanceOf(HardwareConfigException.class).hasMessageStartingWith("BAR 6: a type 0 header has BARs 0..5");
    }

    @Test
    @DisplayName("the upper half of a MEM64 BAR cannot be listed, and a MEM64 in the last slot is refused")
    void mem64Halves() {
        byte[] cfg = ConfigImage.endpoint(0x1234, 0x5678).bar(2, BarKind.MEM64, 0x1000, false).build().bytes();
        assertThatThrownBy(() -> PciFunction.fromConfig(cfg, Map.of(2, 0x1000L, 3, 0x1000L), 0))
                .isInstanceOf(HardwareConfigException.class)
                .hasMessage("BAR 3 is the upper half of 64-bit BAR 2 and cannot be listed by itself");
        cfg[0x24] = 0x04;
        assertThatThrownBy(() -> PciFunction.fromConfig(cfg, Map.of(5, 0x1000L), 0))
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("BAR 5: a 64-bit BAR needs index 6");
    }

    @Test
    @DisplayName("a bridge holds two BARs and its ROM at 0x38")
    void bridgeBars() {
        PciFunction br = ConfigImage.bridge(0x1b36, 0x000c).classCode(0x060400)
                .bar(0, BarKind.MEM32, 0x1000, false).rom(0x800).build().newFunction();
        assertThat(size(br, 0x10)).isEqualTo(0xfffff000);
        assertThat(size(br, 0x14)).isZero();
        assertThat(size(br, 0x38)).isEqualTo(0xfffff801);
        assertThat(size(br, 0x30)).as("0x30 is IO_BASE_UPPER16/IO_LIMIT_UPPER16 on a bridge").isEqualTo(0xffffffff);
        assertThatThrownBy(() -> PciFunction.fromConfig(ConfigImage.bridge(1, 2).build().bytes(), Map.of(2, 0x1000L), 0))
                .hasMessageStartingWith("BAR 2: a type 1 header has BARs 0..1");
    }

    @Test
    @DisplayName("BarSpec checks kind-specific limits")
    void barSpecLimits() {
        assertThat(new BarSpec(0, BarKind.MEM64, 1L << 33, true).flags()).isEqualTo(0xc);
        assertThat(new BarSpec(0, BarKind.IO, 4, false).flags()).isEqualTo(PciRegs.PCI_BASE_ADDRESS_SPACE_IO);
        assertThatThrownBy(() -> new BarSpec(0, BarKind.IO, 512, false)).hasMessageContaining("above the maximum 0x100");
        assertThatThrownBy(() -> new BarSpec(0, BarKind.IO, 16, true)).hasMessageContaining("only memory BARs");
        assertThatThrownBy(() -> new BarSpec(5, BarKind.MEM64, 16, false)).hasMessageContaining("index out of range");
    }
}
