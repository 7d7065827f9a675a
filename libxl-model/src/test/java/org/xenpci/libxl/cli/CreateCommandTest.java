package org.xenpci.libxl.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.fdt.FdtReader;
import org.xenpci.core.testkit.DtcTool;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;

@DisplayName("xenpci create builds a guest end to end and writes dtb, dts, lspci dump, trace and summary")
class CreateCommandTest {
    private static final ObjectMapper M = new ObjectMapper();

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    int run(String... args) {
        return new XenpciCli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8))
                .run(args);
    }

    Path cfg(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    /**
     * Every guest.dtb passes dtc with its default checks and no warning at all, in both
     * directions: {@code dtc -I dtb -O dts} of the blob, and {@code dtc -I dts -O dtb} of our DTS,
     * which must give the blob back byte for byte.
     */
    static void assertDtcClean(Path outDir) throws Exception {
        byte[] dtb = Files.readAllBytes(outDir.resolve("guest.dtb"));
        DtcTool.DtcResult dec = DtcTool.decompile(dtb);
        assertThat(dec.stderr()).as("dtc -I dtb -O dts warnings").isEmpty();
        DtcTool.DtcResult comp = DtcTool.run(Files.readAllBytes(outDir.resolve("guest.dts")), "-I", "dts", "-O", "dtb");
        assertThat(comp.exitCode()).isZero();
        assertThat(comp.stderr()).as("dtc -I dts -O dtb warnings").isEmpty();
        assertThat(comp.output()).as("dtc-compiled guest.dts equals guest.dtb").isEqualTo(dtb);
    }

    @Test
    @DisplayName("full profile: dtc-clean DT, lspci -F sees the guest's IDs and BARs at the guest addresses, summary and trace")
    void fullProfile() throws Exception {
        Path c = cfg("g1.cfg", "name = \"g1\"\nmemory = 1024\nvcpus = 2\ngic_version = \"v3\"\n"
                + "pci = [ \"0000:00:02.0\", \"0000:00:01.0\" ]\n");
        Path o = dir.resolve("out");

        assertThat(run("create", c.toString(), "--profile", "full", "--out", o.toString())).as(err.toString()).isZero();

        assertThat(out.toString()).startsWith("created d1 \"g1\" (full profile): 2 device(s) assigned, guest found 2 function(s)");
        assertDtcClean(o);
        Path lspci = o.resolve("guest-lspci.txt");
        assertThat(LspciTool.run(lspci, "-n")).isEqualTo("00:00.0 0108: 1b36:0010 (rev 02)\n00:01.0 0200: 8086:10d3\n");
        String verbose = LspciTool.run(lspci, "-v");
        assertThat(verbose).contains("Memory at 23000000 (64-bit, non-prefetchable)")
                .contains("Memory at 23020000 (32-bit, non-prefetchable)")
                .contains("Memory at 23040000 (32-bit, non-prefetchable)")
                .contains("Memory at 23060000 (32-bit, non-prefetchable)");

        JsonNode s = M.readTree(o.resolve("summary.json").toFile());
        assertThat(s.get("profile").asText()).isEqualTo("full");
        JsonNode d = s.get("domains").get(0);
        assertThat(d.get("domid").asInt()).isEqualTo(1);
        assertThat(d.get("name").asText()).isEqualTo("g1");
        JsonNode nvme = d.get("devices").get(0);
        assertThat(nvme.get("machineSbdf").asText()).isEqualTo("0000:00:02.0");
        assertThat(nvme.get("guestSbdf").asText()).isEqualTo("0000:00:00.0");
        assertThat(nvme.get("bars").toString()).isEqualTo("[{\"index\":0,\"type\":\"mem64\",\"size\":\"0x4000\","
                + "\"hostAddress\":\"0x100c0000\",\"guestAddress\":\"0x23000000\",\"mapped\":true}]");
        assertThat(nvme.get("msix").toString()).isEqualTo("{\"enabled\":true,\"vectors\":["
                + "{\"entry\":0,\"lpi\":8192,\"vcpu\":0},{\"entry\":1,\"lpi\":8193,\"vcpu\":1}]}");
        assertThat(d.get("devices").get(1).get("guestSbdf").asText()).isEqualTo("0000:00:01.0");
        assertThat(d.get("devices").get(1).get("bars")).hasSize(3);
        assertThat(d.get("guestProbe").toString()).isEqualTo("{\"functions\":2,\"configAborts\":0}");

        List<String> lines = Files.readAllLines(o.resolve("trace.jsonl"));
        List<String> types = new ArrayList<>();
        for (String line : lines) {
            JsonNode e = M.readTree(line);
            assertThat(e.hasNonNull("type")).isTrue();
            assertThat(e.hasNonNull("category")).isTrue();
            types.add(e.get("type").asText());
        }
        assertThat(types).contains("PdevAssigned", "DeviceOp", "Permission", "Hypercall", "ConfigAccess");
        assertThat(lines).anyMatch(l -> l.contains("\"type\":\"DeviceOp\"") && l.contains("\"op\":\"pci-add\"")
                && l.contains("\"sbdf\":\"0000:00:02.0\"") && l.contains("\"rc\":0"));
    }

    @Test
    @DisplayName("summary addresses and 'mapped' agree with the guest p2m's direct MMIO mappings")
    void summaryAgreesWithP2m() {
        Libxl libxl = new Libxl(XenHost.boot(DefaultPlatform.build(), Profile.FULL));
        XlConfig c = XlConfig.parse("name=\"g\"\nmemory=256\npci=[\"0000:00:02.0\",\"0000:00:01.0\",\"0000:01:00.0\"]\n", "g.cfg");
        List<GuestRun.Created> created = GuestRun.createAll(libxl, List.of(c));
        Domain d = created.get(0).domain().domain();
        JsonNode devices = GuestRun.summary(libxl, created).get("domains").get(0).get("devices");

        int mapped = 0;
        for (JsonNode dev : devices) {
            for (JsonNode b : dev.get("bars")) {
                long g = Long.decode(b.get("guestAddress").asText());
                long h = Long.decode(b.get("hostAddress").asText());
                long size = Long.decode(b.get("size").asText());
                assertThat(GuestRun.inP2m(d, g, h, size)).as(dev.get("machineSbdf") + " " + b).isEqualTo(b.get("mapped").asBoolean());
                mapped += b.get("mapped").asBoolean() ? 1 : 0;
            }
        }
        assertThat(mapped).isEqualTo(4);
        // ivshmem's 8 GiB BAR has no room in the 4 GiB prefetchable window: the guest leaves the
        // device disabled, so none of its BARs is mapped.
        assertThat(devices.get(2).get("bars").toString()).contains("\"size\":\"0x200000000\"").doesNotContain("\"mapped\":true");
    }

    static final String UPSTREAM_NODE_HEX = ""
            + "compatible=7063692d686f73742d6563616d2d67656e6572696300;"
            + "device_type=70636900;"
            + "reg=00000000100000000000000010000000;"
            + "bus-range=00000000000000ff;"
            + "#address-cells=00000003;"
            + "#size-cells=00000002;"
            + "status=6f6b617900;"
            + "ranges=02000000000000002300000000000000230000000000000010000000"
            + "43000000000000010000000000000001000000000000000100000000;";

    static String nodeHex(FdtNode n) {
        StringBuilder b = new StringBuilder();
        for (FdtProperty p : n.properties()) {
            b.append(p.name()).append('=').append(HexFormat.of().formatHex(p.value())).append(';');
        }
        return b.toString();
    }

    @Test
    @DisplayName("upstream: the vPCI node is byte-identical to libxl's (make_vpci_node) for any memory, vCPUs, GIC and device list; the guest sees nothing")
    void upstreamNodeIsFixed() throws Exception {
        String[] cfgs = {
            "name=\"a\"\nmemory=1024\nvcpus=2\ngic_version=\"v3\"\npci=[\"0000:01:00.0\"]\n",
            "name=\"b\"\nmemory=4096\nvcpus=1\ngic_version=\"v2\"\npci=[\"0000:00:02.0\",\"0000:00:01.0\"]\n",
            "name=\"c\"\nmemory=128\nmaxvcpus=8\nvcpus=8\npci=[\"0000:00:04.*@2\"]\n",
        };
        for (int i = 0; i < cfgs.length; i++) {
            Path c = cfg("u" + i + ".cfg", cfgs[i]);
            Path o = dir.resolve("u" + i);
            assertThat(run("create", c.toString(), "--profile", "upstream", "--out", o.toString())).as(err.toString()).isZero();
            assertDtcClean(o);
            Fdt dt = FdtReader.read(Files.readAllBytes(o.resolve("guest.dtb")));
            FdtNode node = dt.node("/pcie@10000000").orElseThrow();
            assertThat(nodeHex(node)).as(cfgs[i]).isEqualTo(UPSTREAM_NODE_HEX);
            assertThat(node.children()).isEmpty();
            assertThat(Files.readString(o.resolve("guest-lspci.txt"))).as("the guest sees nothing").isEmpty();
            JsonNode d = M.readTree(o.resolve("summary.json").toFile()).get("domains").get(0);
            assertThat(d.get("guestProbe").get("functions").asInt()).isZero();
            assertThat(d.get("guestProbe").get("configAborts").asInt()).isPositive();
            assertThat(d.get("devices").get(0).get("guestSbdf").isNull()).isTrue();
            assertThat(d.get("devices").get(0).get("bars")).isEmpty();
        }
        assertThat(M.readTree(dir.resolve("u1/summary.json").toFile()).get("domains").get(0).get("devices")).hasSize(2);
    }

    @Test
    @DisplayName("a guest without pci= gets no vPCI node (dtc-clean DT, nothing to list)")
    void noPciNoNode() throws Exception {
        Path c = cfg("plain.cfg", "name=\"plain\"\nmemory=512\nvcpus=1\n");
        Path o = dir.resolve("plain");
        assertThat(run("create", c.toString(), "--out", o.toString())).as(err.toString()).isZero();
        assertDtcClean(o); // default profile: full
        assertThat(Files.readString(o.resolve("guest.dts"))).doesNotContain("pcie@");
        assertThat(M.readTree(o.resolve("summary.json").toFile()).get("domains").get(0).get("devices")).isEmpty();
    }

    @Test
    @DisplayName("a bad pci= spec in create exits as xl does, with xl's message and no files")
    void createBadSpec() throws Exception {
        Path c = cfg("bad.cfg", "name=\"b\"\npci=[\"01:00\"]\n");
        Path o = dir.resolve("bad");
        assertThat(run("create", c.toString(), "--out", o.toString())).isEqualTo(6);
        assertThat(err.toString()).isEqualTo("unable to parse PCI_SPEC_STRING `01:00' for passthrough\n");
        assertThat(Files.exists(o)).isFalse();
    }
}
