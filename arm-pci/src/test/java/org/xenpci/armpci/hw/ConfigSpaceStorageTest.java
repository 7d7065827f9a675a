package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.pci.PciRegs;

/**
 * Config space storage is sparse (256-byte chunks on first use) and behaves exactly as the
 * dense 4 KiB it replaced: images round-trip, unused space reads 0 and does not grow when
 * software writes read-only bits there, and a function's config costs a fraction of 16 KiB.
 */
class ConfigSpaceStorageTest {
    /** What one function's config registers cost before: four dense 4 KiB arrays plus a 4 KiB power-on copy. */
    private static final long DENSE_BYTES = 5 * 4096;

    @Test
    @DisplayName("seeded random images read back byte for byte, zero chunks included")
    void imagesRoundTrip() {
        Random rnd = new Random(12);
        for (int n = 0; n < 50; n++) {
            byte[] image = new byte[ConfigSpace.SIZE];
            // Sparse content: a few non-zero runs, the rest zero, as real images are.
            for (int run = 0; run < 1 + rnd.nextInt(6); run++) {
                int at = rnd.nextInt(ConfigSpace.SIZE - 16);
                for (int i = 0; i < 1 + rnd.nextInt(16); i++) {
                    image[at + i] = (byte) rnd.nextInt(256);
                }
            }
            ConfigSpace cs = new ConfigSpace(image);
            assertThat(cs.toBytes()).isEqualTo(image);
            for (int off = 0; off < ConfigSpace.SIZE; off += 4) {
                int expect = (image[off] & 0xff) | (image[off + 1] & 0xff) << 8 | (image[off + 2] & 0xff) << 16
                        | (image[off + 3] & 0xff) << 24;
                assertThat(cs.read(off, 4)).isEqualTo(expect);
            }
        }
    }

    @Test
    @DisplayName("a 256-byte image has no storage above 0x100; software writes there read 0 and allocate nothing")
    void extendedSpaceStaysUnallocated() {
        PciFunction f = ConfigImage.endpoint(0x1b36, 0x0010).bar(0, BarKind.MEM32, 0x1000, false).build().newFunction();
        long before = f.config().storageBytes();
        for (int off = PciRegs.PCI_EXT_CAP_START; off < ConfigSpace.SIZE; off += 4) {
            f.config().write(off, 4, -1);
            assertThat(f.config().read(off, 4)).isZero();
        }
        assertThat(f.config().storageBytes()).isEqualTo(before);
    }

    @Test
    @DisplayName("the model writing a register in an empty chunk allocates that chunk only, and the value sticks")
    void internalWriteAllocatesOneChunk() {
        ConfigSpace cs = new ConfigSpace();
        long empty = cs.storageBytes();
        cs.setInternal(0x804, 4, 0x12345678);
        assertThat(cs.read(0x804, 4)).isEqualTo(0x12345678);
        assertThat(cs.read(0x800, 4)).isZero();
        assertThat(cs.storageBytes() - empty).isEqualTo(16 + 4 * 64);
    }

    @Test
    @DisplayName("catalog functions keep their config in a quarter of the old dense 20 KiB, NVMe with MSI-X and PCIe included")
    void catalogFunctionsAreSmall() {
        for (DeviceCatalog d : DeviceCatalog.values()) {
            PciFunction f = d.newFunction();
            assertThat(f.configStorageBytes()).as(d.name()).isLessThan(DENSE_BYTES / 4);
        }
    }

    @Test
    @DisplayName("an FLR restores RW bits from the sparse power-on image, including bits in chunks that started empty")
    void resetRestoresFromSparseImage() {
        PciFunction f = DeviceCatalog.QEMU_NVME.newFunction();
        int cmd = f.config().read(PciRegs.PCI_COMMAND, 2);
        f.config().write(PciRegs.PCI_COMMAND, 2, cmd | PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_MASTER);
        f.config().write(PciRegs.PCI_BASE_ADDRESS_0, 4, 0xfe000000);
        f.functionLevelReset();
        assertThat(f.config().read(PciRegs.PCI_COMMAND, 2)).isEqualTo(cmd);
        assertThat(f.config().read(PciRegs.PCI_BASE_ADDRESS_0, 4) & 0xfffffff0).isZero();
    }
}
