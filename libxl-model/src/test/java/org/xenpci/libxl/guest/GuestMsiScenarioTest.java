package org.xenpci.libxl.guest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.gicv3.ItsLayer;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.guest.ProbedFunction.MsixVector;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * A device with plain MSI only (the ICH9 HD Audio of the default board: MSI capability at 0x60,
 * 64-bit, one message, no per-vector masking, no MSI-X): the reference guest programs MSI as
 * Linux's {@code msi_capability_init} does over its vITS, and the device's message reaches the
 * LPI the guest mapped.
 */
@DisplayName("Scenario: a plain-MSI device (ICH9 HD Audio) gets one MSI vector through the guest's vITS")
class GuestMsiScenarioTest {
    private static final Sbdf HDA = Sbdf.of(0, 4, 0);
    private static final Sbdf NVME = Sbdf.of(0, 2, 0);
    /** HD Audio MSI capability offset (catalog image ich9-hda-plus-serial). */
    private static final int MSI = 0x60;

    /** A booted board with a 2-vCPU guest given {@code pci} and its reference guest run. */
    private static final class Run {
        final XenHost host;
        final Domain guest;
        final ReferenceGuest.Probe probe;
        final PciFunction hda;

        Run(Profile profile, String pci) {
            host = XenHost.boot(DefaultPlatform.build(), profile);
            Libxl libxl = new Libxl(host);
            XlConfig cfg = XlConfigParser.parse("name = \"g1\"\nmemory = 1024\nvcpus = 2\ngic_version = \"v3\"\n"
                    + "pci = [ " + pci + " ]\n", "g1.cfg");
            libxl.makeAssignable(cfg);
            guest = libxl.createDomain(cfg).domain();
            probe = new ReferenceGuest(guest).probe();
            hda = host.platform().function(HDA).orElseThrow();
        }
    }

    private final Run run = new Run(Profile.FULL, "\"0000:00:04.0\"");
    private final XenHost host = run.host;
    private final Domain guest = run.guest;
    private final ReferenceGuest.Probe probe = run.probe;
    private final PciFunction hda = run.hda;

    @Test
    @DisplayName("full: MSI vector 0 gets LPI 8192 on vCPU 0; no MSI-X; the device's MSI is enabled at the physical doorbell")
    void msiVectorSetUp() {
        assertThat(probe.functions()).hasSize(1);
        ProbedFunction f = probe.functions().get(0);
        assertThat(f.vendor()).isEqualTo(0x8086);
        assertThat(f.device()).isEqualTo(0x293e);
        assertThat(f.msixVectors()).isEmpty();
        assertThat(f.msiVectors()).containsExactly(new MsixVector(0, 8192, 0));
        int control = hda.config().read(MSI + PciRegs.PCI_MSI_FLAGS, 2);
        assertThat(control & PciRegs.PCI_MSI_FLAGS_ENABLE).as("hardware MSI enable").isNotZero();
        assertThat(control & PciRegs.PCI_MSI_FLAGS_QSIZE).as("one message enabled").isZero();
        assertThat(hda.config().read(PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_INTX_DISABLE)
                .as("pci_intx_for_msi").isNotZero();
        assertThat(host.xen().service(ItsLayer.class).orElseThrow().mappedDevices(guest)).isEqualTo(1);
    }

    @Test
    @DisplayName("full: the HD Audio signalling vector 0 makes exactly LPI 8192 pending on exactly vCPU 0")
    void signalDelivers() {
        assertThat(guest.vcpu(0).pendingInterrupts()).isEmpty();
        assertThat(hda.signal(0)).isEqualTo(SignalResult.SENT);
        assertThat(guest.vcpu(0).pendingInterrupts()).containsExactly(8192);
        assertThat(guest.vcpu(1).pendingInterrupts()).isEmpty();
        assertThat(host.xen().hardwareDomain().vcpu(0).pendingInterrupts()).isEmpty();
        assertThat(hda.signal(1)).as("only one message enabled").isNotEqualTo(SignalResult.SENT);
    }

    @Test
    @DisplayName("full: next to an MSI-X device, the NVMe keeps MSI-X and no MSI; the HD Audio's LPI follows the NVMe's")
    void nextToMsix() {
        Run t = new Run(Profile.FULL, "\"0000:00:02.0\", \"0000:00:04.0\"");
        assertThat(t.probe.functions()).hasSize(2);
        ProbedFunction nvme = t.probe.functions().get(0);
        ProbedFunction audio = t.probe.functions().get(1);
        assertThat(nvme.msixVectors()).containsExactly(new MsixVector(0, 8192, 0), new MsixVector(1, 8193, 1));
        assertThat(nvme.msiVectors()).as("MSI-X preferred").isEmpty();
        assertThat(audio.msiVectors()).containsExactly(new MsixVector(0, 8194, 0));
        assertThat(t.hda.signal(0)).isEqualTo(SignalResult.SENT);
        assertThat(t.guest.vcpu(0).pendingInterrupts()).containsExactly(8194);
        assertThat(t.host.platform().function(NVME).orElseThrow().signal(1)).isEqualTo(SignalResult.SENT);
        assertThat(t.guest.vcpu(1).pendingInterrupts()).containsExactly(8193);
    }

    @Test
    @DisplayName("upstream: the guest finds nothing, hardware MSI stays disabled, the HD Audio delivers nothing")
    void upstream() {
        Run t = new Run(Profile.UPSTREAM, "\"0000:00:04.0\"");
        assertThat(t.probe.functions()).isEmpty();
        assertThat(t.hda.config().read(MSI + PciRegs.PCI_MSI_FLAGS, 2) & PciRegs.PCI_MSI_FLAGS_ENABLE).isZero();
        assertThat(t.hda.signal(0)).isNotEqualTo(SignalResult.SENT);
        assertThat(List.of(t.guest.vcpu(0).pendingInterrupts(), t.guest.vcpu(1).pendingInterrupts()))
                .containsExactly(List.of(), List.of());
    }
}
