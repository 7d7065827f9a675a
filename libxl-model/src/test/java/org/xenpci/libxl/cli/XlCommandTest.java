package org.xenpci.libxl.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("xenpci xl: dry-run JSON and exit codes, pci-assignable-list and pci-list in xl's formats, lspci --config")
class XlCommandTest {
    @TempDir
    Path dir;

    private ByteArrayOutputStream out = new ByteArrayOutputStream();
    private ByteArrayOutputStream err = new ByteArrayOutputStream();

    int run(String... args) {
        out = new ByteArrayOutputStream();
        err = new ByteArrayOutputStream();
        return new XenpciCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(args);
    }

    String cfg(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p.toString();
    }

    @Test
    @DisplayName("xl create -n prints libxl's JSON with the pcidevs element of libxl_device_pci (libxl_types.idl) and exits 0")
    void dryRun() throws Exception {
        String c = cfg("g.cfg", "name=\"g1\"\nmemory=1024\npci=[\"0000:01:00.0\"]\n");
        assertThat(run("xl", "create", "-n", c)).isZero();
        assertThat(out.toString()).contains("\"pcidevs\"").contains("\"bus\" : 1").contains("\"rdm_policy\" : \"strict\"");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    @DisplayName("a rejected PCI_SPEC_STRING prints the parser's message, then xl's line, and exits with -rc (6 or 3)")
    void dryRunBadSpecs() throws Exception {
        assertThat(run("xl", "create", "-n", cfg("a.cfg", "name=\"a\"\npci=[\"0000:01:00.0,foo=1\"]\n"))).isEqualTo(6);
        assertThat(err.toString()).isEqualTo(
                "Unknown PCI_SPEC_STRING option: foounable to parse PCI_SPEC_STRING `0000:01:00.0,foo=1' for passthrough\n");
        assertThat(out.toString()).isEmpty();

        assertThat(run("xl", "create", "-n", cfg("b.cfg", "name=\"b\"\npci=[\"0000:01:00.0,rdm_policy=loose\"]\n"))).isEqualTo(3);
        assertThat(err.toString()).isEqualTo(
                "Unknown RDM policy: looseunable to parse PCI_SPEC_STRING `0000:01:00.0,rdm_policy=loose' for passthrough\n");

        assertThat(run("xl", "create", "-n", cfg("c.cfg", "name=\"c\"\npci=[\"01:00\"]\n"))).isEqualTo(6);
        assertThat(err.toString()).isEqualTo("unable to parse PCI_SPEC_STRING `01:00' for passthrough\n");
    }

    @Test
    @DisplayName("xl create without -n, a missing file and a syntax error: usage 2, exit 1, exit 1")
    void otherCreateExits() throws Exception {
        assertThat(run("xl", "create", cfg("g.cfg", "name=\"g\"\n"))).isEqualTo(2);
        assertThat(run("xl", "create", "-n", dir.resolve("missing.cfg").toString())).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("Failed to read config file: `" + dir.resolve("missing.cfg") + "': No such file or directory\n");
        assertThat(run("xl", "create", "-n", cfg("s.cfg", "name = [\n"))).isEqualTo(1);
        assertThat(err.toString()).endsWith("Failed to parse config: Invalid argument\n");
    }

    @Test
    @DisplayName("pci-assignable-list prints 'ssss:bb:dd.f NAME' with -n, 'ssss:bb:dd.f ' without; assigned devices drop out")
    void assignableList() throws Exception {
        String g = cfg("g.cfg", "name=\"g1\"\nmemory=256\npci=[\"0000:00:02.0\"]\n");
        String[] common = {"--assignable", "0000:00:04.0,name=audio", "--assignable", "0000:00:01.0", "--config", g};

        assertThat(run(concat(new String[] {"xl", "pci-assignable-list", "-n"}, common))).as(err.toString()).isZero();
        assertThat(out.toString()).isEqualTo("0000:00:01.0 \n0000:00:04.0 audio\n");

        assertThat(run(concat(new String[] {"xl", "pci-assignable-list"}, common))).isZero();
        assertThat(out.toString()).isEqualTo("0000:00:01.0 \n0000:00:04.0 \n");

        assertThat(run("xl", "pci-assignable-list")).isZero();
        assertThat(out.toString()).isEmpty();

        assertThat(run("xl", "pci-assignable-list", "--assignable", "00:1f")).isEqualTo(2);
        assertThat(err.toString()).isEqualTo("pci-assignable-add: malformed BDF \"00:1f\"\n");
        assertThat(run("xl", "pci-assignable-list", "--assignable", "0000:07:00.0")).isEqualTo(1);
        assertThat(err.toString()).isEqualTo(
                "libxl: error: Couldn't lstat /sys/bus/pci/devices/0000:07:00.0: No such file or directory\n");
    }

    @Test
    @DisplayName("pci-list by name or domid prints the 'Vdev Device' header and vslot.vfunc lines; a guest without PCI prints nothing")
    void pciList() throws Exception {
        String g = cfg("g.cfg", "name=\"g1\"\nmemory=256\npci=[\"0000:00:02.0\", \"0000:00:01.0@7\"]\n");
        String p = cfg("p.cfg", "name=\"plain\"\nmemory=64\n");

        assertThat(run("xl", "pci-list", "g1", "--config", g, "--config", p)).as(err.toString()).isZero();
        assertThat(out.toString()).isEqualTo("Vdev Device\n00.0 0000:00:02.0\n07.0 0000:00:01.0\n");
        assertThat(run("xl", "pci-list", "1", "--config", g, "--profile", "upstream")).isZero();
        assertThat(out.toString()).isEqualTo("Vdev Device\n00.0 0000:00:02.0\n07.0 0000:00:01.0\n");
        assertThat(run("xl", "pci-list", "plain", "--config", g, "--config", p)).isZero();
        assertThat(out.toString()).isEmpty();
        assertThat(run("xl", "pci-list", "nobody", "--config", g)).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("Invalid domain identifier: nobody\n");
    }

    @Test
    @DisplayName("a config whose device cannot be attached makes the listing command fail with libxl's error, exit 1")
    void createFailure() throws Exception {
        String g = cfg("g.cfg", "name=\"g1\"\nmemory=256\npci=[\"name=ghost\"]\n");
        assertThat(run("xl", "pci-list", "g1", "--config", g)).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("libxl: error: Domain 1:libxl__device_pci_add failed for PCI device 'ghost' (rc -23)\n");
    }

    @Test
    @DisplayName("lspci --domain 1 --config shows the guest's view: function 00:00.0 with the NVMe IDs")
    void lspciGuest() throws Exception {
        String g = cfg("g.cfg", "name=\"g1\"\nmemory=256\npci=[\"0000:00:02.0\"]\n");
        assertThat(run("lspci", "--domain", "1", "--config", g)).as(err.toString()).isZero();
        assertThat(out.toString()).startsWith("00:00.0 Class 0108: Device 1b36:0010\n00: 36 1b 10 00");
        assertThat(run("lspci", "--domain", "1")).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("xenpci: no domain 1\n");
    }

    @Test
    @DisplayName("the demo creates the built-in guest, prints the host tree, guest view, DT node, BAR mappings, and writes its files")
    void demo() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertThat(Demo.run(new PrintStream(buf, true, StandardCharsets.UTF_8), dir)).isZero();
        String text = buf.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("-[0000:00]-+-01.0  8086:10d3 Ethernet controller")
                .contains("           +-03.0-[01]----00.0  1af4:1110 RAM memory")
                .contains("  00:00.0 Non-Volatile memory controller [0108]: 1b36:0010 (rev 02)")
                .contains("  00:01.0 Ethernet controller [0200]: 8086:10d3")
                .contains("ranges = <0x2000000 0x00 0x23000000")
                .contains("BAR0 mem64       0x4000  guest 0x23000000   -> host 0x100c0000   mapped")
                .contains("  0000:00:02.0 as 0000:00:00.0: MSI-X enabled, 2 vector(s)\n"
                        + "      entry 0 -> LPI 8192 -> d1v0\n"
                        + "      entry 1 -> LPI 8193 -> d1v1\n"
                        + "      fired: entry 0 -> LPI 8192 pending on d1v0\n"
                        + "      fired: entry 1 -> LPI 8193 pending on d1v1\n"
                        + "  0000:00:01.0 as 0000:00:01.0: MSI-X enabled, 2 vector(s)\n"
                        + "      entry 0 -> LPI 8194 -> d1v0\n"
                        + "      entry 1 -> LPI 8195 -> d1v1\n"
                        + "      fired: entry 0 -> LPI 8194 pending on d1v0\n"
                        + "      fired: entry 1 -> LPI 8195 pending on d1v1\n");
        for (String f : new String[] {"guest.dtb", "guest.dts", "guest-lspci.txt", "trace.jsonl", "summary.json"}) {
            assertThat(dir.resolve("demo-full").resolve(f)).exists();
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = new String[a.length + b.length];
        System.arraycopy(a, 0, r, 0, a.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
