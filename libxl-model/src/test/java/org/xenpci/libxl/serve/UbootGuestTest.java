package org.xenpci.libxl.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenpci.armpci.hw.nvme.NvmeController;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.audit.IsolationAuditor;
import org.xenpci.libxl.dt.GuestMemoryMap;
import org.xenpci.libxl.host.XenHost;

/**
 * Debian's U-Boot as the guest of a xenpci domain under unicorn, through {@code xenpci serve}
 * (docs/uboot-guest.md): U-Boot's own PCI and NVMe drivers against vPCI and the NVMe model,
 * guest RAM shared between the CPU emulator and device DMA.
 */
class UbootGuestTest {
    private static final ObjectMapper M = new ObjectMapper();
    /** The default platform's QEMU NVMe (with its controller model) and e1000e, passed through in this order (uboot.cfg). */
    private static final Sbdf NVME = Sbdf.of(0, 2, 0);
    /** Guest RAM U-Boot reads the block into: 128 MiB into bank 0, below U-Boot's relocated self. */
    private static final long BUFFER = GuestMemoryMap.GUEST_RAM0_BASE + 0x0800_0000L;
    private static final long LBA = 7;

    @Test
    @DisplayName("full: U-Boot lists both devices with BARs in the guest windows, finds the namespace, and nvme read DMAs the test's block into guest RAM")
    void fullProfile(@TempDir Path dir) throws Exception {
        UbootHarness harness = UbootHarness.require();
        Path socket = dir.resolve("serve.sock");
        try (ServeCommand serve = ServeCommand.start(new ServeCommand.UnixSocket(socket), dir)) {
            XenHost host = platform(serve, "full");
            NvmeController nvme = host.platform().function(NVME).flatMap(NvmeController::of).orElseThrow();
            byte[] block = block();
            nvme.namespace().writeBlocks(LBA, block);
            Path dump = dir.resolve("buffer.bin");
            String buf = "0x" + Long.toHexString(BUFFER);
            JsonNode r = harness.run(socket, harness.guestConfig(), dir, new String[] {buf, "0x200", dump.toString()},
                    "pci enum", "pci", "pci bar 00.00.00", "pci bar 00.01.00", "nvme scan", "nvme info",
                    "nvme read " + buf + " " + LBA + " 1", "md.b " + buf + " 0x10", "crc32 " + buf + " 0x200");

            assertThat(r.get("aborts")).as("aborts; console:\n%s", r.path("console").asText()).isEmpty();
            assertThat(r.get("finished").asBoolean()).as(r.path("error").asText()).isTrue();
            assertThat(output(r, "pci")).containsPattern("00\\.00\\.00 +0x1b36 +0x0010 +Mass storage controller")
                    .containsPattern("00\\.01\\.00 +0x8086 +0x10d3 +Network controller");
            List<Long> bars = new ArrayList<>(bars(output(r, "pci bar 00.00.00")));
            bars.addAll(bars(output(r, "pci bar 00.01.00")));
            assertThat(bars).hasSize(4).allSatisfy(base -> assertThat(inGuestWindow(base))
                    .as("BAR at 0x%x inside the guest's vPCI MEM windows", base).isTrue());
            // U-Boot's blk_desc shows the NVMe serial as "Prod"; capacity from Identify Namespace
            assertThat(output(r, "nvme info")).contains("Vendor: 0x1b36", "Prod: " + nvme.identity().serial())
                    .contains("Capacity: 64.0 MB", "(131072 x 512)");
            assertThat(output(r, "nvme read " + buf + " " + LBA + " 1")).contains("1 blocks read: OK");
            assertThat(output(r, "md.b " + buf + " 0x10"))
                    .contains(String.format("%08x: %s", BUFFER, spaced(HexFormat.of().formatHex(block, 0, 16))));
            CRC32 crc = new CRC32();
            crc.update(block);
            assertThat(output(r, "crc32 " + buf + " 0x200")).contains(String.format("==> %08x", crc.getValue()));
            // ... and in the shared RAM file, read after the run without the CPU
            assertThat(Files.readAllBytes(dump)).isEqualTo(block);
            // The controller's DMA went through the host bridge and the SMMU's stage 2 of d1:
            // IOVA 0x48000000 is guest-physical, and only that translation reaches the guest's
            // RAM file (host RAM at 0x48000000 is other memory). No DMA faulted.
            assertThat(nvme.lastFault()).isEmpty();
            assertThat(nvme.commandsProcessed()).isGreaterThan(3);
            assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
        }
    }

    @Test
    @DisplayName("upstream: Xen 4.23 has no vPCI ECAM handler for a domU, so U-Boot's first config read at boot takes a data abort")
    void upstreamProfile(@TempDir Path dir) throws Exception {
        UbootHarness harness = UbootHarness.require();
        Path socket = dir.resolve("serve.sock");
        try (ServeCommand serve = ServeCommand.start(new ServeCommand.UnixSocket(socket), dir)) {
            XenHost host = platform(serve, "upstream");
            JsonNode r = harness.run(socket, harness.guestConfig(), dir, null, "pci enum", "pci");

            assertThat(r.get("finished").asBoolean()).isFalse();
            assertThat(r.get("aborts")).hasSize(1);
            assertThat(r.get("aborts").get(0).asText()).startsWith("data abort on ")
                    .contains("load at 0x10000000 (vpci-ecam)");
            assertThat(r.get("transcript")).as("no prompt was reached").isEmpty();
            assertThat(r.get("console").asText()).contains("U-Boot 2023.01").doesNotContain("0x1b36");
            assertThat(new IsolationAuditor(host).check().violations()).isEmpty();
        }
    }

    @Test
    @DisplayName("the harness's own unit tests pass: MMU-enable site by encoding and context (refusing 0 or 2 sites), FDT edit, PL011")
    void harnessUnitTests() throws Exception {
        assertThat(UbootHarness.runUnitTests()).contains("OK").doesNotContain("FAIL");
    }

    /** PLATFORM_CREATE as the harness would send it, from the test driver's side of the server. */
    private static XenHost platform(ServeCommand serve, String profile) {
        serve.simulator().createPlatform(M.createObjectNode().put("profile", profile));
        return serve.simulator().host();
    }

    /** A recognisable block: a text header, then seeded random bytes. */
    private static byte[] block() {
        byte[] b = new byte[512];
        new Random(11).nextBytes(b);
        byte[] head = ("xenpci lba " + LBA + " ").getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(head, 0, b, 0, head.length);
        return b;
    }

    private static String output(JsonNode result, String command) {
        for (JsonNode t : result.get("transcript")) {
            if (t.get("command").asText().equals(command)) {
                return t.get("output").asText();
            }
        }
        throw new AssertionError("no command " + command + " in the transcript; console:\n" + result.path("console").asText());
    }

    /** Bases of U-Boot's {@code pci bar} table ({@code ID Base Size Width Type}). */
    private static List<Long> bars(String table) {
        List<Long> out = new ArrayList<>();
        Matcher m = Pattern.compile("(?m)^ *\\d+ +0x([0-9a-f]{16}) +0x[0-9a-f]{16} +(32|64) +MEM").matcher(table);
        while (m.find()) {
            out.add(Long.parseUnsignedLong(m.group(1), 16));
        }
        return out;
    }

    private static boolean inGuestWindow(long base) {
        return in(base, GuestMemoryMap.GUEST_VPCI_MEM_ADDR, GuestMemoryMap.GUEST_VPCI_MEM_SIZE)
                || in(base, GuestMemoryMap.GUEST_VPCI_PREFETCH_MEM_ADDR, GuestMemoryMap.GUEST_VPCI_PREFETCH_MEM_SIZE);
    }

    private static boolean in(long a, long base, long size) {
        return a >= base && a - base < size;
    }

    private static String spaced(String hex) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < hex.length(); i += 2) {
            s.append(i == 0 ? "" : " ").append(hex, i, i + 2);
        }
        return s.toString();
    }
}
