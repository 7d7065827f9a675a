package org.xenpci.libxl.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.xenpci.armpci.its.ItsEvents;
import org.xenpci.armpci.its.ItsRegs;
import org.xenpci.core.Xen;
import org.xenpci.core.trace.Events;
import org.xenpci.vpci.VpciEvents;

@DisplayName("xenpci behaves like the tools it imitates: help, version, warnings, xl's error lines, OS reasons")
class CliConventionsTest {
    private static final ObjectMapper M = new ObjectMapper();

    @TempDir
    Path dir;

    private String out;
    private String err;

    int run(String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int status = new XenpciCli(new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8))
                .run(args);
        out = o.toString(StandardCharsets.UTF_8);
        err = e.toString(StandardCharsets.UTF_8);
        return status;
    }

    String file(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p.toString();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "boot --help                      | usage: xenpci boot [--platform FILE]",
        "boot --json -h                   | usage: xenpci boot [--platform FILE]",
        "lspci --help                     | usage: xenpci lspci ",
        "create --help                    | usage: xenpci create GUEST.cfg",
        "classify --help                  | usage: xenpci classify ",
        "dts --help                       | usage: xenpci dts FILE...",
        "xl --help                        | usage: xenpci xl SUBCOMMAND",
        "xl create --help                 | usage: xenpci xl create -n GUEST.cfg",
        "xl pci-list --help               | usage: xenpci xl pci-list DOMAIN",
        "xl pci-assignable-list --help    | usage: xenpci xl pci-assignable-list ",
        "--debug boot --help              | usage: xenpci boot [--platform FILE]",
    })
    @DisplayName("COMMAND --help prints that command's usage on stdout and exits 0, doing nothing else")
    void perCommandHelp(String argv, String usage) {
        assertThat(run(argv.trim().split(" +"))).as(err).isZero();
        assertThat(out).startsWith(usage).endsWith("\n");
        assertThat(err).isEmpty();
    }

    @Test
    @DisplayName("--version prints the Maven project version, exit 0")
    void version() {
        assertThat(run("--version")).isZero();
        assertThat(out).matches("xenpci \\d+\\.\\d+\\.\\d+[-.A-Za-z0-9]*\n");
        assertThat(err).isEmpty();
    }

    @Test
    @DisplayName("xl.cfg warnings go to stderr as FILE:LINE: warning: ...; stdout is the same JSON as without them")
    void configWarningsOnStderr() throws Exception {
        String clean = file("clean.cfg", "name=\"g1\"\nmemory=64\n");
        String typo = file("typo.cfg", "name=\"g1\"\nmemroy = 5\nmemory=64\n");

        assertThat(run("xl", "create", "-n", clean)).isZero();
        String json = out;
        assertThat(err).isEmpty();
        assertThat(run("xl", "create", "-n", typo)).isZero();
        assertThat(out).isEqualTo(json);
        assertThat(err).isEqualTo(typo + ":2: warning: Unknown key `memroy'\n");
    }

    @Test
    @DisplayName("a failed PCI assignment prints libxl's lines once each, as xl shows them, with no d-1 and no xl line")
    void createFailureLines() throws Exception {
        String g = file("g.cfg", "name=\"g1\"\nmemory=64\npci=[\"0000:00:04.*\"]\n");
        assertThat(run("create", g, "--out", dir.resolve("o").toString())).isEqualTo(1);
        assertThat(out).isEmpty();
        // The reset step (makeAssignable) logs without a domain; the add logs with one (LOGD).
        assertThat(err).isEqualTo("libxl: error: The kernel doesn't support reset from sysfs for PCI device 0000:00:04.0\n"
                + "libxl: error: Domain 1:Must specify a v-slot for multi-function devices\n"
                + "libxl: error: Domain 1:libxl__device_pci_add failed for PCI device 0:0:4.0 (rc -6)\n");
    }

    @Test
    @DisplayName("a failure libxl logs nothing for still gets one line, without a domain")
    void createFailureSilentLibxl() throws Exception {
        String g = file("g.cfg", "name=\"g1\"\nmemory=256\npci=[\"name=ghost\"]\n");
        assertThat(run("xl", "pci-list", "g1", "--config", g)).isEqualTo(1);
        assertThat(err.lines()).hasSize(1).allMatch(l -> !l.contains("d-1"));
    }

    @Test
    @DisplayName("--debug adds the failure's stack trace and cause to an exit-1 xl error")
    void debugOnXlError() throws Exception {
        String g = file("g.cfg", "name=\"g1\"\nmemory=64\npci=[\"0000:00:04.*\"]\n");
        assertThat(run("--debug", "create", g, "--out", dir.resolve("o").toString())).isEqualTo(1);
        assertThat(err).contains("libxl: error: Domain 1:Must specify a v-slot")
                .contains("org.xenpci.libxl.toolstack.LibxlException: ERROR_INVAL (-6)")
                .contains("\tat org.xenpci.libxl.toolstack.Libxl.");
        assertThat(run("create", g, "--out", dir.resolve("o").toString())).isEqualTo(1);
        assertThat(err).doesNotContain("\tat ");
    }

    @Test
    @DisplayName("an unreadable file names the OS reason: No such file or directory, Is a directory")
    void osReason() throws Exception {
        String missing = dir.resolve("nonexistent.json").toString();
        assertThat(run("boot", "--platform", missing)).isEqualTo(1);
        assertThat(err).isEqualTo("xenpci: " + missing + ": cannot read: No such file or directory\n");

        assertThat(run("boot", "--platform", dir.toString())).isEqualTo(1);
        assertThat(err).isEqualTo("xenpci: " + dir + ": cannot read: Is a directory\n");

        assertThat(run("xl", "create", "-n", missing)).isEqualTo(1);
        assertThat(err).isEqualTo("Failed to read config file: `" + missing + "': No such file or directory\n");
        assertThat(run("xl", "create", "-n", dir.toString())).isEqualTo(1);
        assertThat(err).isEqualTo("Failed to read config file: `" + dir + "': Is a directory\n");

        assertThat(run("classify", missing)).isEqualTo(1);
        assertThat(err).isEqualTo("xenpci: " + missing + ": cannot read: No such file or directory\n");
    }

    @Test
    @DisplayName("malformed platform JSON is one clean line with line and column, no Jackson source description")
    void malformedJson() throws Exception {
        String bad = file("bad.json", "{\n  \"hostDtb\": \"x.dtb\",\n  }\n");
        assertThat(run("boot", "--platform", bad)).isEqualTo(1);
        assertThat(err).isEqualTo("xenpci: " + bad + ": not valid JSON: Unexpected character ('}' (code 125)): "
                + "was expecting double-quote to start field name at line 3, column 3\n");

        String cut = file("cut.json", "{\"hostDtb\": \"x.dtb\",\n");
        assertThat(run("boot", "--platform", cut)).isEqualTo(1);
        assertThat(err).startsWith("xenpci: " + cut + ": not valid JSON: Unexpected end-of-input")
                .contains(" at line 2, column ").doesNotContain("Source").doesNotContain("REDACTED");
        assertThat(err.lines()).hasSize(1);
    }

    @Test
    @DisplayName("xl pci-list accepts dom0 as 0 or Domain-0: no backend, so nothing at all, exit 0")
    void pciListDom0() throws Exception {
        String g = file("g.cfg", "name=\"g1\"\nmemory=64\npci=[\"0000:00:02.0\"]\n");
        assertThat(run("xl", "pci-list", "0", "--config", g)).as(err).isZero();
        assertThat(out).isEmpty();
        assertThat(err).isEmpty();
        assertThat(run("xl", "pci-list", "Domain-0")).isZero();
        assertThat(out).isEmpty();
        assertThat(run("xl", "pci-list", "5")).isEqualTo(1);
        assertThat(err).isEqualTo("Invalid domain identifier: 5\n");
    }

    @Test
    @DisplayName("trace.jsonl names opcodes as Xen does and prints addresses, registers and values in hex")
    void traceNamesAndHex() {
        assertThat(TraceJsonl.line(new Events.Hypercall(0, Xen.HYPERVISOR_PHYSDEV_OP, 25, 0)).toString())
                .isEqualTo("{\"type\":\"Hypercall\",\"category\":\"HYPERCALL\",\"domid\":0,"
                        + "\"op\":\"__HYPERVISOR_physdev_op\",\"cmd\":\"PHYSDEVOP_pci_device_add\",\"rc\":0}");
        assertThat(TraceJsonl.line(new Events.Hypercall(0, Xen.HYPERVISOR_DOMCTL, 37, -16)).toString())
                .contains("\"op\":\"__HYPERVISOR_domctl\",\"cmd\":\"XEN_DOMCTL_assign_device\",\"rc\":-16");
        assertThat(TraceJsonl.line(new Events.Hypercall(0, 41, -1, -38)).toString())
                .contains("\"op\":\"41\",\"cmd\":null");
        assertThat(TraceJsonl.line(new VpciEvents.ConfigAccess(1, 0x0010, 0x10, 4, false, 0xfffff000L)).toString())
                .contains("\"sbdf\":\"0000:00:02.0\",\"reg\":\"0x10\",\"size\":4,\"write\":false,\"value\":\"0xfffff000\"");
        assertThat(TraceJsonl.line(new Events.P2mChange(1, Events.P2mChange.Kind.UNMAP_MMIO, 0x23000, 4, -1)).toString())
                .contains("\"gfn\":\"0x23000\",\"nr\":4,\"mfn\":\"0xffffffffffffffff\"");
        assertThat(TraceJsonl.line(new ItsEvents.VitsCommand(1, ItsRegs.GITS_CMD_MAPTI, 0x10, 1, 0)).toString())
                .contains("\"opcode\":\"GITS_CMD_MAPTI\",\"deviceId\":\"0x10\",\"eventId\":1,\"rc\":0");
        assertThat(TraceJsonl.line(new ItsEvents.CommandError(0x8080000L, 0x2a, "x")).toString())
                .contains("\"itsBase\":\"0x8080000\",\"opcode\":\"0x2a\"");
    }

    @Test
    @DisplayName("a real create's trace names every hypercall it made, PHYSDEVOP and domctl alike, and summary.json gives the format")
    void createTraceNamed() throws Exception {
        String g = file("g.cfg", "name=\"g1\"\nmemory=256\npci=[\"0000:00:02.0\"]\n");
        Path o = dir.resolve("o");
        assertThat(run("create", g, "--out", o.toString())).as(err).isZero();
        List<String> ops = Files.readAllLines(o.resolve("trace.jsonl")).stream().filter(l -> l.contains("\"type\":\"Hypercall\""))
                .map(l -> read(l).get("cmd").asText()).distinct().toList();
        assertThat(ops).contains("PHYSDEVOP_pci_device_add", "XEN_DOMCTL_assign_device").noneMatch(s -> s.matches("-?\\d+"));
        assertThat(read(Files.readString(o.resolve("summary.json"))).get("traceFormat").asInt()).isEqualTo(TraceJsonl.VERSION);
    }

    private static JsonNode read(String json) {
        try {
            return M.readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
