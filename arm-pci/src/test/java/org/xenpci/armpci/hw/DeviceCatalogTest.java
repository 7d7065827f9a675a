package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.pci.PciRegs;

@DisplayName("DeviceCatalog: committed lspci images of real devices")
class DeviceCatalogTest {
    private static final Path RESOURCES = Path.of("src/main/resources/org/xenpci/armpci/hw/catalog");

    @Test
    @DisplayName("the committed resources equal what the builders generate (regenerate with -Dxenpci.regenerateCatalog=true)")
    void resourcesUpToDate() throws IOException {
        boolean regenerate = Boolean.getBoolean("xenpci.regenerateCatalog");
        for (Map.Entry<String, String> e : CatalogImages.texts().entrySet()) {
            Path file = RESOURCES.resolve(e.getKey());
            if (regenerate) {
                Files.createDirectories(RESOURCES);
                Files.writeString(file, e.getValue(), StandardCharsets.US_ASCII);
            }
            assertThat(Files.readString(file, StandardCharsets.US_ASCII)).as(e.getKey()).isEqualTo(e.getValue());
        }
        for (DeviceCatalog d : DeviceCatalog.values()) {
            assertThat(CatalogImages.texts()).containsKey(d.resource());
        }
        // A regenerating run rewrites the files and must not count as a pass.
        assertThat(regenerate).as("catalog regenerated: review the diff and rerun without -Dxenpci.regenerateCatalog").isFalse();
    }

    @Test
    @DisplayName("QEMU NVMe: 1b36:0010 class 0x010802, MSI-X 65 entries in BAR0 at 0x2000/0x3000, PM, PCIe endpoint")
    void nvme() {
        PciFunction f = DeviceCatalog.QEMU_NVME.newFunction();
        assertThat(f.config().read(0x00, 4)).isEqualTo(0x00101b36);
        assertThat(f.config().read(0x08, 4)).isEqualTo(0x01080202);
        assertThat(f.config().read(0x2c, 4)).isEqualTo(0x11001af4);
        assertThat(f.bars()).containsExactly(new BarSpec(0, BarKind.MEM64, 0x4000, false));
        Capability msix = f.capability(PciRegs.PCI_CAP_ID_MSIX, false).orElseThrow();
        assertThat(msix.offset()).isEqualTo(0x40);
        assertThat(f.config().read(0x42, 2)).isEqualTo(0x0040);
        assertThat(f.config().read(0x44, 4)).isEqualTo(0x00002000);
        assertThat(f.config().read(0x48, 4)).isEqualTo(0x00003000);
        assertThat(f.capabilities()).extracting(Capability::id).containsExactly(0x11, 0x01, 0x10);
        assertThat(f.pcieType()).isEqualTo(PciRegs.PCI_EXP_TYPE_ENDPOINT);
        f.config().write(0x10, 4, 0xffffffff);
        assertThat(f.config().read(0x10, 4)).isEqualTo(0xffffc004);
    }

    @Test
    @DisplayName("e1000e: 8086:10d3, four BARs of the right kinds and sizes, 256 KiB ROM, MSI-X 5 in BAR3")
    void e1000e() {
        PciFunction f = DeviceCatalog.E1000E.newFunction();
        assertThat(f.config().read(0x00, 4)).isEqualTo(0x10d38086);
        assertThat(f.classCode()).isEqualTo(0x020000);
        int[] expected = {0xfffe0000, 0xfffe0000, 0xffffffe1, 0xffffc000, 0, 0};
        for (int i = 0; i < 6; i++) {
            f.config().write(0x10 + 4 * i, 4, 0xffffffff);
            assertThat(f.config().read(0x10 + 4 * i, 4)).as("BAR%d", i).isEqualTo(expected[i]);
        }
        f.config().write(0x30, 4, 0xffffffff);
        assertThat(f.config().read(0x30, 4)).isEqualTo(0xfffc0001);
        assertThat(f.capabilities()).extracting(Capability::offset).containsExactly(0xc8, 0xd0, 0xe0, 0xa0, 0x100, 0x148);
        assertThat(f.config().read(0xa4, 4)).isEqualTo(0x00000003);
        assertThat(f.config().read(0xa8, 4)).isEqualTo(0x00002003);
        assertThat(f.config().read(0xd2, 2)).isEqualTo(0x0080);
    }

    @Test
    @DisplayName("root port: type 1 with a PCIe root port capability and AER, ACS extended capabilities")
    void rootPort() {
        PciFunction f = DeviceCatalog.QEMU_ROOT_PORT.newFunction();
        assertThat(f.isBridge()).isTrue();
        assertThat(f.isPcieDownstreamPort()).isTrue();
        assertThat(f.config().read(0x0c, 4)).isEqualTo(0x00010000);
        assertThat(f.capabilities()).extracting(Capability::id).containsExactly(0x10, 0x11, 0x0d, 0x01, 0x0d);
        assertThat(f.config().read(0x100, 4)).isEqualTo(0x14820001);
    }

    @Test
    @DisplayName("the multi-function device: fn0 header type 0x80, fn1 a conventional serial port")
    void multiFunction() {
        PciFunction fn0 = DeviceCatalog.ICH9_HDA_FN0.newFunction();
        PciFunction fn1 = DeviceCatalog.PCI_SERIAL_FN1.newFunction();
        assertThat(fn0.config().read(0x0e, 1)).isEqualTo(0x80);
        assertThat(fn0.config().read(0x00, 4)).isEqualTo(0x293e8086);
        assertThat(fn1.config().read(0x00, 4)).isEqualTo(0x00021b36);
        assertThat(fn1.config().read(0x0e, 1)).isEqualTo(0x00);
        assertThat(fn1.pcieType()).isEqualTo(-1);
        assertThat(DeviceCatalog.PCI_SERIAL_FN1.dump().address().function()).isEqualTo(1);
    }

    @Test
    @DisplayName("ivshmem 8 GiB: BAR2 sizes as 0x0000000c / 0xfffffffe")
    void bigBar() {
        PciFunction f = DeviceCatalog.IVSHMEM_8G.newFunction();
        f.config().write(0x18, 4, 0xffffffff);
        f.config().write(0x1c, 4, 0xffffffff);
        assertThat(f.config().read(0x18, 4)).isEqualTo(0x0000000c);
        assertThat(f.config().read(0x1c, 4)).isEqualTo(0xfffffffe);
        assertThat(f.bar(2).orElseThrow().size()).isEqualTo(0x2_0000_0000L);
    }
}
