package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.gicv3.ItsLayer;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.guest.ProbedFunction;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * The guest's vGIC decides whether it has a virtual ITS: Xen emulates one only for a vGICv3
 * domain ({@code xen/arch/arm/vgic-v3.c: vgic_v3_domain_init}), so a {@code gic_version = "v2"}
 * guest of the full profile sees its devices but has no MSI controller, in Xen and in its DT.
 */
@DisplayName("gic_version decides the guest's vITS")
class GicVersionScenarioTest {
    private final XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
    private final Libxl libxl = new Libxl(host);

    private Domain create(String gic) {
        XlConfig c = XlConfigParser.parse("name = \"g\"\nmemory = 256\nvcpus = 1\ngic_version = \"" + gic
                + "\"\npci = [ \"0000:00:02.0\" ]\n", "g.cfg");
        libxl.makeAssignable(c);
        return libxl.createDomain(c).domain();
    }

    @Test
    @DisplayName("a vGICv3 guest gets msi-controller@4020000 under its GIC and its NVMe gets MSI-X vectors")
    void vgicV3GuestHasVits() {
        Domain g = create("v3");
        Fdt dt = g.deviceTree();
        assertThat(g.vgicVersion()).isEqualTo(3);
        assertThat(dt.node("/interrupt-controller@3001000/msi-controller@4020000")).isPresent();
        assertThat(dt.node("/pcie@10000000").orElseThrow().property("msi-map")).isPresent();
        assertThat(host.xen().service(ItsLayer.class).orElseThrow().vits(g)).hasSize(1);
        ProbedFunction nvme = new ReferenceGuest(g).probe().functions().get(0);
        assertThat(nvme.msixVectors()).isNotEmpty();
    }

    @Test
    @DisplayName("a vGICv2 guest sees its NVMe but has no vITS, no msi-map and so no MSI-X vectors")
    void vgicV2GuestHasNoVits() {
        Domain g = create("v2");
        Fdt dt = g.deviceTree();
        assertThat(g.vgicVersion()).isEqualTo(2);
        assertThat(dt.node("/interrupt-controller@3001000").orElseThrow().children()).isEmpty();
        assertThat(dt.node("/pcie@10000000").orElseThrow().property("msi-map")).isEmpty();
        assertThat(host.xen().service(ItsLayer.class).orElseThrow().vits(g)).isEmpty();
        ReferenceGuest.Probe probe = new ReferenceGuest(g).probe();
        assertThat(probe.functions()).extracting(f -> f.vendor()).containsExactly(0x1b36);
        assertThat(probe.functions().get(0).msixVectors()).isEmpty();
        // The vITS frame is not there for it: a store to its GITS_CBASER is an ordinary abort.
        assertThat(g.mmioWrite(0x04020080L, 8, 0)).isFalse();
    }
}
