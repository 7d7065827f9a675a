package org.xenpci.libxl.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xenpci.armpci.gicv3.ItsLayer;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.armpci.its.ItsNode;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.guest.ProbedFunction;
import org.xenpci.libxl.guest.ProbedFunction.MsixVector;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.vpci.MsixState;

@DisplayName("The reference guest sets up MSI-X through its DT's ITS; summary.json msix shows Xen's routes")
class GuestMsixTest {
    private static final Sbdf NVME = Sbdf.of(0, 2, 0);
    private static final Sbdf E1000E = Sbdf.of(0, 1, 0);

    /** A booted board with one guest created from {@code cfg} and its reference guest run. */
    private static final class Run {
        final XenHost host;
        final Libxl libxl;
        final GuestRun.Created created;
        final JsonNode devices;

        Run(Profile profile, int vcpus) {
            host = XenHost.boot(DefaultPlatform.build(), profile);
            libxl = new Libxl(host);
            String cfg = "name = \"g1\"\nmemory = 1024\nvcpus = " + vcpus + "\ngic_version = \"v3\"\n"
                    + "pci = [ \"0000:00:02.0\", \"0000:00:01.0\" ]\n";
            List<GuestRun.Created> all = GuestRun.createAll(libxl, List.of(GuestRun.parse(cfg, "g1.cfg")));
            created = all.get(0);
            devices = GuestRun.summary(libxl, all).get("domains").get(0).get("devices");
        }

        Domain guest() {
            return created.domain().domain();
        }

        PciFunction function(Sbdf s) {
            return host.platform().function(s).orElseThrow();
        }

        List<List<Integer>> pending() {
            List<List<Integer>> out = new ArrayList<>();
            for (Vcpu v : guest().vcpus()) {
                out.add(v.pendingInterrupts());
            }
            return out;
        }
    }

    @Test
    @DisplayName("2 vCPUs: NVMe (65 entries) and e1000e (5 entries) each get 2 vectors, LPIs 8192.. in device order, entry k on vCPU k % 2")
    void twoVcpus() {
        Run r = new Run(Profile.FULL, 2);

        assertThat(r.devices.get(0).get("machineSbdf").asText()).isEqualTo("0000:00:02.0");
        assertThat(r.devices.get(0).get("msix").toString()).isEqualTo("{\"enabled\":true,\"vectors\":["
                + "{\"entry\":0,\"lpi\":8192,\"vcpu\":0},{\"entry\":1,\"lpi\":8193,\"vcpu\":1}]}");
        assertThat(r.devices.get(1).get("machineSbdf").asText()).isEqualTo("0000:00:01.0");
        assertThat(r.devices.get(1).get("msix").toString()).isEqualTo("{\"enabled\":true,\"vectors\":["
                + "{\"entry\":0,\"lpi\":8194,\"vcpu\":0},{\"entry\":1,\"lpi\":8195,\"vcpu\":1}]}");
        assertThat(MsixState.of(r.host.vpci().device(r.guest(), NVME)).entries()).as("NVMe table size").hasSize(65);
        assertThat(MsixState.of(r.host.vpci().device(r.guest(), E1000E)).entries()).as("e1000e table size").hasSize(5);
        List<ProbedFunction> fs = r.created.probe().functions();
        assertThat(fs.get(0).msixVectors()).containsExactly(new MsixVector(0, 8192, 0), new MsixVector(1, 8193, 1));
        assertThat(fs.get(1).msixVectors()).containsExactly(new MsixVector(0, 8194, 0), new MsixVector(1, 8195, 1));
        assertThat(r.host.xen().service(ItsLayer.class).orElseThrow().mappedDevices(r.guest())).isEqualTo(2);
    }

    @Test
    @DisplayName("firing each vector at the host function makes exactly its LPI pending on exactly its vCPU")
    void firingDelivers() {
        Run r = new Run(Profile.FULL, 2);
        assertThat(r.pending()).containsExactly(List.of(), List.of());
        int[][] expect = {{2, 0, 8192, 0}, {2, 1, 8193, 1}, {1, 0, 8194, 0}, {1, 1, 8195, 1}};
        for (int[] e : expect) {
            PciFunction f = r.function(Sbdf.of(0, e[0], 0));
            assertThat(f.signal(e[1])).isEqualTo(SignalResult.SENT);
            List<List<Integer>> want = new ArrayList<>(List.of(List.of(), List.of()));
            want.set(e[3], List.of(e[2]));
            assertThat(r.pending()).as("device %d entry %d", e[0], e[1]).isEqualTo(want);
            assertThat(r.guest().vcpu(e[3]).acknowledge(e[2])).isTrue();
        }
        assertThat(r.function(NVME).signal(2)).as("entry 2 was never unmasked").isEqualTo(SignalResult.PENDING);
        assertThat(r.pending()).containsExactly(List.of(), List.of());
        assertThat(r.host.xen().hardwareDomain().vcpu(0).pendingInterrupts()).isEmpty();
    }

    @Test
    @DisplayName("4 vCPUs: N = min(table size, vCPUs): NVMe 4 vectors, e1000e 4 of its 5, one collection per vCPU")
    void fourVcpus() {
        Run r = new Run(Profile.FULL, 4);
        assertThat(r.devices.get(0).get("msix").toString()).isEqualTo("{\"enabled\":true,\"vectors\":["
                + "{\"entry\":0,\"lpi\":8192,\"vcpu\":0},{\"entry\":1,\"lpi\":8193,\"vcpu\":1},"
                + "{\"entry\":2,\"lpi\":8194,\"vcpu\":2},{\"entry\":3,\"lpi\":8195,\"vcpu\":3}]}");
        assertThat(r.devices.get(1).get("msix").get("vectors").get(3).toString())
                .isEqualTo("{\"entry\":3,\"lpi\":8199,\"vcpu\":3}");
        assertThat(r.function(E1000E).signal(3)).isEqualTo(SignalResult.SENT);
        assertThat(r.guest().vcpu(3).pendingInterrupts()).containsExactly(8199);
        assertThat(r.function(E1000E).signal(4)).as("entry 4 left masked").isEqualTo(SignalResult.PENDING);
    }

    @Test
    @DisplayName("1 vCPU: at least one vector per function, all on vCPU 0")
    void oneVcpu() {
        Run r = new Run(Profile.FULL, 1);
        assertThat(r.devices.get(0).get("msix").toString())
                .isEqualTo("{\"enabled\":true,\"vectors\":[{\"entry\":0,\"lpi\":8192,\"vcpu\":0}]}");
        assertThat(r.devices.get(1).get("msix").toString())
                .isEqualTo("{\"enabled\":true,\"vectors\":[{\"entry\":0,\"lpi\":8193,\"vcpu\":0}]}");
    }

    @Test
    @DisplayName("upstream: msix is null, the guest programmed nothing, no ITS mapping, firing delivers nothing")
    void upstream() {
        Run r = new Run(Profile.UPSTREAM, 2);
        for (JsonNode d : r.devices) {
            assertThat(d.get("msix").isNull()).as(d.toString()).isTrue();
        }
        assertThat(r.created.probe().functions()).isEmpty();
        assertThat(r.host.xen().service(ItsLayer.class).orElseThrow().mappedDevices(r.guest())).isZero();
        assertThat(r.function(NVME).signal(0)).isNotEqualTo(SignalResult.SENT);
        assertThat(r.pending()).containsExactly(List.of(), List.of());
    }

    @Test
    @DisplayName("full without guestVits: no ITS in the guest DT, so the guest leaves MSI-X alone: enabled=false, no vectors")
    void noGuestIts() {
        Run r = new Run(Profile.FULL.toBuilder().name("full-no-vits").guestVits(false).build(), 2);
        assertThat(ItsNode.find(r.created.domain().deviceTree())).isEmpty();
        for (JsonNode d : r.devices) {
            assertThat(d.get("msix").toString()).as(d.get("machineSbdf").asText())
                    .isEqualTo("{\"enabled\":false,\"vectors\":[]}");
        }
        assertThat(r.created.probe().functions()).hasSize(2).allMatch(f -> f.msixVectors().isEmpty());
        assertThat(r.function(NVME).signal(0)).isEqualTo(SignalResult.DISABLED);
        assertThat(r.host.xen().service(ItsLayer.class).orElseThrow().mappedDevices(r.guest())).isZero();
    }

    @Test
    @DisplayName("the demo under upstream says the guest has no MSI and fires nothing")
    void demoUpstream(@TempDir Path dir) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        assertThat(Demo.run(new PrintStream(buf, true, StandardCharsets.UTF_8), dir,
                Profile.UPSTREAM)).isZero();
        String text = buf.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("Interrupt routes (MSI-X, from Xen's vPCI and vITS state):\n"
                + "  none: the guest has no MSI (as Xen 4.23: Arm builds no vPCI MSI/MSI-X emulation, guests get no ITS)\n")
                .doesNotContain("fired:");
    }
}
