package org.xenpci.armpci.hw.dump;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.testkit.FuzzRun;

@DisplayName("Config dumps: binary and lspci -xxxx text")
class ConfigDumpsTest {

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    @DisplayName("binary dumps of 256 and 4096 bytes are accepted; other sizes name the length")
    void binary() {
        assertThat(ConfigDumps.readBinary(random(256, 1))).isEqualTo(random(256, 1));
        assertThat(ConfigDumps.readBinary(random(4096, 2))).hasSize(4096);
        assertThatThrownBy(() -> ConfigDumps.readBinary(new byte[255])).isInstanceOf(ConfigDumpException.class)
                .hasMessage("binary config dump must be 256 or 4096 bytes, not 255");
        assertThatThrownBy(() -> ConfigDumps.readBinary(new byte[0])).hasMessageContaining("not 0");
    }

    @Test
    @DisplayName("format prints the header, 16 bytes a line with 2-digit offsets below 0x100 and 3 above, then a blank line")
    void formatShape() {
        byte[] cfg = new byte[4096];
        cfg[0] = 0x36;
        cfg[1] = 0x1b;
        cfg[0xfff] = (byte) 0xab;
        String text = ConfigDumps.formatLspci(Sbdf.of(0, 2, 0), "Non-Volatile memory controller: x", cfg);
        String[] lines = text.split("\n", -1);
        assertThat(lines).hasSize(1 + 256 + 2);
        assertThat(lines[0]).isEqualTo("00:02.0 Non-Volatile memory controller: x");
        assertThat(lines[1]).isEqualTo("00: 36 1b 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
        assertThat(lines[16]).startsWith("f0: ");
        assertThat(lines[17]).startsWith("100: ");
        assertThat(lines[256]).isEqualTo("ff0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ab");
        assertThat(lines[257]).isEmpty();
        assertThat(ConfigDumps.formatLspci(new Sbdf(0x10, 1, 0x1f, 7), "d", new byte[256]))
                .startsWith("0010:01:1f.7 d\n00: ");
    }

    @Test
    @DisplayName("text round trip: format then parse gives back the bytes (256 and 4096)")
    void roundTrip() {
        for (int n : new int[] {256, 4096}) {
            byte[] cfg = random(n, n);
            String text = ConfigDumps.formatLspci(Sbdf.of(3, 4, 5), "Class: thing", cfg);
            assertThat(ConfigDumps.parseLspci(text)).isEqualTo(cfg);
            List<LspciDump> all = ConfigDumps.parseLspciAll(text + text.replace("03:04.5", "0001:03:04.6"));
            assertThat(all).hasSize(2);
            assertThat(all.get(1).address()).isEqualTo(new Sbdf(1, 3, 4, 6));
            assertThat(all.get(1).config()).isEqualTo(cfg);
        }
    }

    @Test
    @DisplayName("the catalog texts parse to 4096 bytes each; the two-function file yields two entries")
    void catalogParses() {
        assertThat(ConfigDumps.parseLspciAll(DeviceCatalog.ICH9_HDA_FN0.text())).extracting(LspciDump::header)
                .containsExactly("00:04.0 Audio device: Intel Corporation 82801I (ICH9 Family) HD Audio Controller (rev 03)",
                        "00:04.1 Serial controller: Red Hat, Inc. QEMU PCI 16550A Adapter (rev 01)");
        assertThat(ConfigDumps.parseLspci(DeviceCatalog.QEMU_NVME.text())).hasSize(4096);
    }

    @Test
    @DisplayName("upper case, CRLF, no header and a partial dump: missing bytes read 0xff")
    void lenient() {
        String text = "00: 86 80 D3 10\r\n10: AA\r\n";
        byte[] cfg = ConfigDumps.parseLspci(text);
        assertThat(cfg).hasSize(256);
        assertThat(cfg[0] & 0xff).isEqualTo(0x86);
        assertThat(cfg[3] & 0xff).isEqualTo(0x10);
        assertThat(cfg[4] & 0xff).isEqualTo(0xff);
        assertThat(cfg[0x10] & 0xff).isEqualTo(0xaa);
        assertThat(ConfigDumps.parseLspci("100: 01\n")).hasSize(4096);
    }

    @Test
    @DisplayName("malformed tokens are rejected naming the line number")
    void malformedToken() {
        String text = "00:02.0 NVMe\n00: 36 1b 10 00\n10: 04 0x 00\n";
        assertThatThrownBy(() -> ConfigDumps.parseLspci(text)).isInstanceOf(ConfigDumpException.class)
                .hasMessage("line 3: token 2 \"0x\" is not a two-digit hex byte")
                .extracting(e -> ((ConfigDumpException) e).line()).isEqualTo(3);
        assertThatThrownBy(() -> ConfigDumps.parseLspci("00: 361b\n")).hasMessage("line 1: token 1 \"361b\" is not a two-digit hex byte");
        assertThatThrownBy(() -> ConfigDumps.parseLspci("00: 36\n1000: 00\n")).hasMessage("line 2: offset \"1000\" must have 2 or 3 hex digits");
        assertThatThrownBy(() -> ConfigDumps.parseLspci("0: 36\n")).hasMessage("line 1: offset \"0\" must have 2 or 3 hex digits");
        assertThatThrownBy(() -> ConfigDumps.parseLspci("00: 36\nhello world\n"))
                .hasMessageStartingWith("line 2: neither a device header");
        assertThatThrownBy(() -> ConfigDumps.parseLspci("ff8: 00 00 00 00 00 00 00 00 00\n"))
                .hasMessageStartingWith("line 1: data runs past 4096 bytes");
        assertThatThrownBy(() -> ConfigDumps.parseLspci("00:20.0 bad device\n00: 00\n"))
                .hasMessageStartingWith("line 1: bad device address in header");
    }

    @Test
    @DisplayName("structural errors: two devices where one was expected, data before a header, no data")
    void structure() {
        assertThatThrownBy(() -> ConfigDumps.parseLspci("00:01.0 a\n00: 00\n\n00:02.0 b\n00: 01\n"))
                .hasMessage("line 4: a second device; expected one");
        assertThatThrownBy(() -> ConfigDumps.parseLspciAll("00: 00\n")).hasMessage("line 1: data line before any device header");
        assertThatThrownBy(() -> ConfigDumps.parseLspci("\n\n")).hasMessage("no config data lines");
    }

    @Test
    @DisplayName("found by ConfigDumpFuzzTest: a text of many header lines costs memory for its data, not 4 KiB per header")
    void headerFloodIsCheap() {
        String flood = "00:01.0 x\n".repeat(100_000) + "00: 86 80\n";
        // One device expected: refused at the second header, before the rest is read.
        long one = FuzzRun.allocatedBy(() -> assertThatThrownBy(() -> ConfigDumps.parseLspci(flood))
                .isInstanceOf(ConfigDumpException.class).hasMessage("line 2: a second device; expected one"));
        // Every device: 100,000 header-only devices read as 256 bytes of 0xff each, not 4 KiB.
        long all = FuzzRun.allocatedBy(() -> {
            List<LspciDump> dumps = ConfigDumps.parseLspciAll(flood);
            assertThat(dumps).hasSize(100_000);
            assertThat(dumps.get(0).config()).hasSize(256).containsOnly((byte) 0xff);
            assertThat(dumps.get(99_999).config()[0]).isEqualTo((byte) 0x86);
        });
        assertThat(one).as("bytes allocated by parseLspci").isLessThan(8L << 20); // was 4 KiB x 100,000 = 410 MB
        assertThat(all).as("bytes allocated by parseLspciAll").isLessThan(160L << 20); // was 820 MB
    }
}
