package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.MmioDevice;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.pci.PciRegs;

@DisplayName("Seeded random config writes keep the hardware invariants")
class ConfigFuzzTest {

    @Test
    @DisplayName("no software write changes IDs, class, header type, capability pointer, read-only capability bits or BAR flag bits")
    void readOnlyStaysReadOnly() {
        Random rnd = new Random(0x5eed_0001L);
        for (DeviceCatalog d : DeviceCatalog.values()) {
            PciFunction f = d.newFunction();
            byte[] before = f.config().toBytes();
            int[] barFlags = new int[6];
            for (int i = 0; i < 6; i++) {
                barFlags[i] = f.config().read(0x10 + 4 * i, 4) & 0xf;
            }
            for (int n = 0; n < 20_000; n++) {
                int size = 1 << rnd.nextInt(3);
                int offset = rnd.nextInt(4096 - size + 1);
                f.config().write(offset, size, rnd.nextInt());
            }
            byte[] after = f.config().toBytes();
            for (int off : new int[] {0x00, 0x01, 0x02, 0x03, 0x08, 0x09, 0x0a, 0x0b, 0x0e, 0x34, 0x3d}) {
                assertThat(after[off]).as("%s byte 0x%x", d, off).isEqualTo(before[off]);
            }
            for (int off = 0x40; off < 4096; off++) {
                // MSI / MSI-X behaviours declare RW fields (enable, masks, address, data); the rest stays RO.
                int writable = (f.config().writableMask(off) >>> ((off & 3) * 8)) & 0xff;
                assertThat(after[off] & 0xff & ~writable).as("%s capability byte 0x%x", d, off).isEqualTo(before[off] & 0xff & ~writable);
            }
            for (BarSpec b : f.bars()) {
                if (b.kind() != BarKind.ROM) {
                    int low = f.config().read(b.registerOffset(f.headerType()), 4);
                    assertThat(low & 0xf & (b.kind() == BarKind.IO ? 0x3 : 0xf)).as("%s BAR%d flags", d, b.index())
                            .isEqualTo(barFlags[b.index()] & (b.kind() == BarKind.IO ? 0x3 : 0xf));
                    assertThat((long) low & (b.size() - 1) & ~0xfL).as("%s BAR%d address bits below size", d, b.index())
                            .isZero();
                }
            }
        }
    }

    @Test
    @DisplayName("every BAR write reads back (value & ~(size-1)) | flags")
    void barReadBack() {
        Random rnd = new Random(0x5eed_0002L);
        PciFunction f = DeviceCatalog.E1000E.newFunction();
        for (int n = 0; n < 5_000; n++) {
            int value = rnd.nextInt();
            f.config().write(0x10, 4, value);
            assertThat(f.config().read(0x10, 4)).isEqualTo(value & 0xfffe0000);
            f.config().write(0x18, 4, value);
            assertThat(f.config().read(0x18, 4)).isEqualTo(value & 0xffffffe0 | 1);
            f.config().write(0x30, 4, value);
            assertThat(f.config().read(0x30, 4)).isEqualTo(value & 0xfffc0001);
        }
    }

    @Test
    @DisplayName("an I/O BAR behind a bridge is reached through the bridge's I/O window with COMMAND.IO on both")
    void ioWindow() {
        PciFunction serial = DeviceCatalog.PCI_SERIAL_FN1.newFunction();
        PciFunction bridge = ConfigImage.bridge(0x1b36, 0x0001).classCode(0x060400).build().newFunction();
        PhysicalAddressSpace pas = new PhysicalAddressSpace();
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(0x3f00_0000L, 0x100_0000L)
                .aperture(0x3eff_0000L, 0, 0x10000, ApertureKind.IO, false)
                .bridge(2, 0, bridge, PciBus.builder().slot(7, 0, serial)).build();
        hb.attach(pas);
        MmioDevice ecam = hb.ecamWindow();
        ecam.write(0x1_0018, 4, 0x00010100);
        ecam.write(0x13_8010, 4, 0x2008);
        ecam.write(0x13_8004, 2, PciRegs.PCI_COMMAND_IO);
        serial.memory(0).write(4, 1, 0x5a);
        assertThat(pas.read(0x3eff_200cL, 1)).isEqualTo(0xffL);
        ecam.write(0x1_001c, 2, 0x2020); // I/O base = limit = 0x2000..0x2fff
        assertThat(pas.read(0x3eff_200cL, 1)).as("bridge COMMAND.IO still off").isEqualTo(0xffL);
        ecam.write(0x1_0004, 2, PciRegs.PCI_COMMAND_IO);
        assertThat(pas.read(0x3eff_200cL, 1)).isEqualTo(0x5aL);
        assertThat(ecam.read(0x13_8000, 4)).as("a conventional bridge forwards to any device number").isEqualTo(0x00021b36L);
    }

    @Test
    @DisplayName("ECAM: a misaligned 8-byte read splits into bytes; 3-byte accesses read all-ones and are dropped")
    void oddWidths() {
        PciFunction ep = DeviceCatalog.QEMU_NVME.newFunction();
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(0, 0x100000).slot(0, 0, ep).build();
        MmioDevice ecam = hb.ecamWindow();
        assertThat(ecam.read(0x2, 8)).as("bytes 2..9: device ID, COMMAND, STATUS, revision, prog-if").isEqualTo(0x0202_0010_0000_0010L);
        assertThat(ecam.read(0x0, 3)).isEqualTo(0xffffffL);
        ecam.write(0x3c, 3, 0x123456);
        assertThat(ecam.read(0x3c, 1)).isZero();
        ecam.write(0x3c, 8, 0x1111_2222_3333_4444L);
        assertThat(ecam.read(0x3c, 1)).isEqualTo(0x44L);
        assertThat(ecam.read(0x40, 4)).as("MSI-X cap header is RO").isEqualTo(0x0040_6011L);
    }
}
