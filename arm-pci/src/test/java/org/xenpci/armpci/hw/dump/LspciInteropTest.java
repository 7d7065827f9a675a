package org.xenpci.armpci.hw.dump;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.PciBus;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;

@DisplayName("Real lspci -F decodes the formatted dumps")
class LspciInteropTest {
    private static final Path LSPCI = Path.of("/usr/bin/lspci");

    @TempDir
    Path dir;

    @BeforeAll
    static void needLspci() {
        boolean present = Files.isExecutable(LSPCI);
        if (!present && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("/usr/bin/lspci is required when CI=true (apt-get install pciutils)");
        }
        Assumptions.assumeTrue(present, "SKIPPED: /usr/bin/lspci not installed (apt-get install pciutils)");
    }

    private String lspci(String text, String... args) throws IOException, InterruptedException {
        Path file = dir.resolve("dump.txt");
        Files.writeString(file, text, StandardCharsets.US_ASCII);
        String[] cmd = new String[3 + args.length];
        cmd[0] = LSPCI.toString();
        cmd[1] = "-F";
        cmd[2] = file.toString();
        System.arraycopy(args, 0, cmd, 3, args.length);
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("lspci exit status").isZero();
        return out;
    }

    @Test
    @DisplayName("lspci -n shows exactly [class]: vendor:device for every catalog device")
    void numericIds() throws Exception {
        assertThat(lspci(DeviceCatalog.QEMU_NVME.text(), "-n")).isEqualTo("00:02.0 0108: 1b36:0010 (rev 02)\n");
        assertThat(lspci(DeviceCatalog.E1000E.text(), "-n")).isEqualTo("00:03.0 0200: 8086:10d3\n");
        assertThat(lspci(DeviceCatalog.QEMU_ROOT_PORT.text(), "-n")).isEqualTo("00:01.0 0604: 1b36:000c\n");
        assertThat(lspci(DeviceCatalog.ICH9_HDA_FN0.text(), "-n"))
                .isEqualTo("00:04.0 0403: 8086:293e (rev 03)\n00:04.1 0700: 1b36:0002 (rev 01)\n");
        assertThat(lspci(DeviceCatalog.IVSHMEM_8G.text(), "-n")).isEqualTo("00:05.0 0500: 1af4:1110 (rev 01)\n");
    }

    @Test
    @DisplayName("lspci -nn names the device and class from the IDs we put in")
    void names() throws Exception {
        assertThat(lspci(DeviceCatalog.QEMU_NVME.text(), "-nn")).isEqualTo(
                "00:02.0 Non-Volatile memory controller [0108]: Red Hat, Inc. QEMU NVM Express Controller [1b36:0010] (rev 02)\n");
    }

    @Test
    @DisplayName("BARs programmed through ECAM show in lspci -vvv at the programmed addresses with decoding on")
    void programmedBars() throws Exception {
        PciFunction nic = DeviceCatalog.E1000E.newFunction();
        HostBridgeHardware hb = HostBridgeHardware.builder().ecam(0x40_1000_0000L, 0x1000_0000L)
                .bridge(1, 0, DeviceCatalog.QEMU_ROOT_PORT.newFunction(), PciBus.builder().slot(0, 0, nic)).build();
        hb.configWrite(0, 1, 0, PciRegs.PCI_PRIMARY_BUS, 4, 0x00010100);
        hb.configWrite(1, 0, 0, 0x10, 4, 0x10040000);
        hb.configWrite(1, 0, 0, 0x14, 4, 0x10060000);
        hb.configWrite(1, 0, 0, 0x18, 4, 0x1000);
        hb.configWrite(1, 0, 0, 0x1c, 4, 0x10080000);
        hb.configWrite(1, 0, 0, 0x30, 4, 0x10000000);
        hb.configWrite(1, 0, 0, 0x04, 2, PciRegs.PCI_COMMAND_IO | PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_MASTER);
        String text = ConfigDumps.formatLspci(Sbdf.of(1, 0, 0), "Ethernet controller: e1000e", nic.config().toBytes());
        String out = lspci(text, "-vvv");
        assertThat(out).contains("Control: I/O+ Mem+ BusMaster+")
                .contains("Region 0: Memory at 10040000 (32-bit, non-prefetchable)")
                .contains("Region 1: Memory at 10060000 (32-bit, non-prefetchable)")
                .contains("Region 2: I/O ports at 1000")
                .contains("Region 3: Memory at 10080000 (32-bit, non-prefetchable)")
                .contains("Expansion ROM at 10000000 [disabled]")
                .contains("Capabilities: [a0] MSI-X: Enable- Count=5 Masked-")
                .contains("Capabilities: [100 v2] Advanced Error Reporting");
    }

    @Test
    @DisplayName("an 8 GiB 64-bit prefetchable BAR shows at its 64-bit address")
    void bigBarAddress() throws Exception {
        PciFunction f = DeviceCatalog.IVSHMEM_8G.newFunction();
        f.config().write(0x18, 4, 0);
        f.config().write(0x1c, 4, 0x80);
        f.config().write(0x04, 2, PciRegs.PCI_COMMAND_MEMORY);
        String out = lspci(ConfigDumps.formatLspci(Sbdf.of(0, 5, 0), "RAM memory: ivshmem", f.config().toBytes()), "-vv");
        assertThat(out).contains("Region 2: Memory at 8000000000 (64-bit, prefetchable)");
    }
    @Test
    @DisplayName("lspci -vvv decodes the switch ports (Upstream/Downstream Port), the five VirtIO capabilities and the xHCI's MSI-X")
    void switchVirtioXhci() throws Exception {
        assertThat(lspci(DeviceCatalog.XIO3130_UPSTREAM.text(), "-n"))
                .isEqualTo("01:00.0 0604: 104c:8232 (rev 02)\n02:00.0 0604: 104c:8233 (rev 01)\n");
        assertThat(lspci(DeviceCatalog.XIO3130_UPSTREAM.text(), "-vvv"))
                .contains("Capabilities: [90] Express (v2) Upstream Port")
                .contains("Capabilities: [90] Express (v2) Downstream Port (Slot+)")
                .contains("Capabilities: [70] MSI: Enable- Count=1/1 Maskable- 64bit+")
                .contains("Capabilities: [100 v2] Advanced Error Reporting");
        assertThat(lspci(DeviceCatalog.VIRTIO_NET_MODERN.text(), "-n")).isEqualTo("00:06.0 0200: 1af4:1041 (rev 01)\n");
        assertThat(lspci(DeviceCatalog.VIRTIO_NET_MODERN.text(), "-vvv"))
                .contains("Capabilities: [dc] MSI-X: Enable- Count=4 Masked-")
                .contains("Capabilities: [c8] Vendor Specific Information: VirtIO: <unknown>")
                .contains("Capabilities: [b4] Vendor Specific Information: VirtIO: Notify")
                .contains("BAR=4 offset=00003000 size=00001000 multiplier=00000004")
                .contains("Capabilities: [a4] Vendor Specific Information: VirtIO: DeviceCfg")
                .contains("Capabilities: [94] Vendor Specific Information: VirtIO: ISR")
                .contains("Capabilities: [84] Vendor Specific Information: VirtIO: CommonCfg")
                .contains("Capabilities: [40] Express (v2) Endpoint");
        assertThat(lspci(DeviceCatalog.QEMU_XHCI.text(), "-n")).isEqualTo("00:07.0 0c03: 1b36:000d (rev 01)\n");
        assertThat(lspci(DeviceCatalog.QEMU_XHCI.text(), "-vvv"))
                .contains("USB controller: Red Hat, Inc. QEMU XHCI Host Controller (rev 01) (prog-if 30 [XHCI])")
                .contains("Capabilities: [90] MSI-X: Enable- Count=16 Masked-")
                .contains("Vector table: BAR=0 offset=00003000")
                .contains("PBA: BAR=0 offset=00003800")
                .contains("Capabilities: [70] MSI: Enable- Count=1/16 Maskable- 64bit+");
    }
}
