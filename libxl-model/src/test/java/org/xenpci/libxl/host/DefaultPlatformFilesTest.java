package org.xenpci.libxl.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.dump.ConfigDumps;
import org.xenpci.armpci.hw.dump.LspciDump;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;

/**
 * The built-in default platform's files are generated from the device catalog; this test fails
 * when they drift and rewrites them with {@code -Dxenpci.regenerateDefaultPlatform=true}.
 */
class DefaultPlatformFilesTest {
    static final Path DIR = Path.of("src/main/resources/org/xenpci/libxl/platform/default");

    /** The board: a NIC with MSI-X, an NVMe controller, a root port with a device behind it, a multi-function device. */
    static Map<String, String> expectedFiles() {
        Map<String, String> files = new LinkedHashMap<>();
        StringBuilder json = new StringBuilder();
        json.append("{\n  \"description\": \"xenpci built-in default: QEMU 7.2 virt (GICv3, ITS, SMMUv3) with six PCI functions on five devices\",\n");
        json.append("  \"hostDtb\": \"qemu-virt-gicv3-its-smmuv3.dtb\",\n");
        json.append("  \"cmdline\": \"pci-passthrough=on\",\n");
        json.append("  \"devices\": [\n");
        Object[][] board = {
            {Sbdf.of(0, 1, 0), DeviceCatalog.E1000E, "e1000e.lspci"},
            {Sbdf.of(0, 2, 0), DeviceCatalog.QEMU_NVME, "nvme.lspci"},
            {Sbdf.of(0, 3, 0), DeviceCatalog.QEMU_ROOT_PORT, "root-port.lspci"},
            {Sbdf.of(1, 0, 0), DeviceCatalog.IVSHMEM_8G, "ivshmem-8g.lspci"},
            {Sbdf.of(0, 4, 0), DeviceCatalog.ICH9_HDA_FN0, "hda-fn0.lspci"},
            {Sbdf.of(0, 4, 1), DeviceCatalog.PCI_SERIAL_FN1, "serial-fn1.lspci"},
        };
        for (int i = 0; i < board.length; i++) {
            Sbdf sbdf = (Sbdf) board[i][0];
            DeviceCatalog dev = (DeviceCatalog) board[i][1];
            String file = (String) board[i][2];
            LspciDump dump = dev.dump();
            byte[] config = dump.config().clone();
            if (dev == DeviceCatalog.QEMU_ROOT_PORT) {
                // As firmware leaves it: bus 1 behind the port.
                config[PciRegs.PCI_PRIMARY_BUS] = 0;
                config[PciRegs.PCI_SECONDARY_BUS] = 1;
                config[PciRegs.PCI_SUBORDINATE_BUS] = 1;
            }
            String header = dump.header().substring(dump.header().indexOf(' ') + 1);
            files.put(file, ConfigDumps.formatLspci(sbdf, header, config));
            json.append("    { \"sbdf\": \"").append(sbdf).append("\", \"config\": \"").append(file).append("\"");
            json.append(", \"bars\": [");
            String sep = " ";
            for (Map.Entry<Integer, Long> b : new java.util.TreeMap<>(dev.barSizes()).entrySet()) {
                json.append(sep).append("{ \"index\": ").append(b.getKey()).append(", \"size\": \"0x")
                        .append(Long.toHexString(b.getValue())).append("\" }");
                sep = ", ";
            }
            json.append(" ]");
            if (dev.romSize() != 0) {
                json.append(", \"romSize\": \"0x").append(Long.toHexString(dev.romSize())).append("\"");
            }
            json.append(" }").append(i + 1 < board.length ? "," : "").append("\n");
        }
        json.append("  ]\n}\n");
        files.put("platform.json", json.toString());
        return files;
    }

    @Test
    @DisplayName("the default platform's files are exactly what the catalog generates")
    void filesAreUpToDate() throws IOException {
        boolean regenerate = Boolean.getBoolean("xenpci.regenerateDefaultPlatform");
        for (Map.Entry<String, String> f : expectedFiles().entrySet()) {
            Path p = DIR.resolve(f.getKey());
            if (regenerate) {
                Files.writeString(p, f.getValue(), StandardCharsets.US_ASCII);
            }
            assertThat(Files.readString(p, StandardCharsets.US_ASCII)).as(f.getKey()).isEqualTo(f.getValue());
        }
        // A regenerating run rewrites the files and must not count as a pass.
        assertThat(regenerate).as("default platform regenerated: review the diff and rerun without the property").isFalse();
    }
}
