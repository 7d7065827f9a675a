package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.ArmPci;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.DomctlCalls;
import org.xenpci.armpci.testkit.FakeEcam;
import org.xenpci.armpci.PhysdevCalls;
import org.xenpci.armpci.testkit.Trees;
import org.xenpci.armpci.smmu.ArmSmmu;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.Errno;
import org.xenpci.core.Hardware;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;

@DisplayName("vPCI follows device ownership through XEN_DOMCTL_assign/deassign_device")
class VpciAssignTest {
    private static final long SCRATCH = 0x4000_1000L;
    static final Sbdf NIC = Sbdf.of(0, 2, 0);
    static final Sbdf NIC_FN1 = Sbdf.of(0, 2, 1);

    private Xen xen;
    private Vcpu dom0;
    private final FakeEcam ecam = new FakeEcam();

    private void boot(Profile profile) {
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        space.register("ecam", Trees.QEMU_ECAM, Trees.QEMU_ECAM_SIZE, ecam);
        Trees.attachSmmuV3(space, Trees.SMMU_PHANDLE);
        xen = Xen.builder().hardware(new Hardware(Trees.qemuVirtSmmu(), space)).profile(profile)
                .extension(new ArmSmmu()).extension(new ArmPci()).extension(new ArmVpci()).build();
        dom0 = xen.hardwareDomain().vcpu(0);
    }

    private HypercallResult add(Sbdf s) {
        return PhysdevCalls.pciDeviceAdd(dom0, SCRATCH, s, 0);
    }

    private Vpci vpci() {
        return xen.service(Vpci.class).orElseThrow();
    }

    private Domain owner(Sbdf s) {
        return xen.service(ArmPciLayer.class).orElseThrow().findPdev(s).orElseThrow().owner();
    }

    @Test
    @DisplayName("a config read given an outdated or foreign vPCI-state hint (the ECAM trap keeps one) still reads the caller's own device")
    void staleDomainHintIsOnlyAHint() {
        boot(Profile.FULL);
        ecam.endpoint(0, 2, 0, 0x8086, 0x10fb, 0x0200, 0x0);
        ecam.endpoint(0, 3, 0, 0x1af4, 0x1041, 0x0200, 0x0);
        assertThat(add(NIC).rc()).isEqualTo(0);
        assertThat(add(Sbdf.of(0, 3, 0)).rc()).isEqualTo(0);
        Domain g = xen.createDomain(DomainConfig.guest("g", 1));
        Domain h = xen.createDomain(DomainConfig.guest("h", 1));
        assertThat(DomctlCalls.assignDevice(dom0, SCRATCH, g.domid(), NIC, 0)).isEqualTo(HypercallResult.ok());
        assertThat(DomctlCalls.assignDevice(dom0, SCRATCH, h.domid(), Sbdf.of(0, 3, 0), 0)).isEqualTo(HypercallResult.ok());
        int guest0 = Sbdf.of(0, 0, 0).sbdf(); // each guest sees its device as 00:00.0

        assertThat(vpci().read(g, VpciDomain.of(h), guest0, 0, 4)).as("h's state as g's hint").isEqualTo(0x10fb8086);
        assertThat(vpci().read(h, VpciDomain.of(g), guest0, 0, 4)).as("g's state as h's hint").isEqualTo(0x10411af4);
        assertThat(vpci().read(g, new VpciDomain(g), guest0, 0, 4)).as("an outdated, empty state of g").isEqualTo(0x10fb8086);
        assertThat(vpci().read(g, null, guest0, 0, 4)).isEqualTo(0x10fb8086);
    }

    @Test
    @DisplayName("under the full profile the guest gets vPCI state and reads the vendor ID at 0x10000000 (guest 00:00.0)")
    void fullProfileGuestSeesDevice() {
        boot(Profile.FULL);
        ecam.endpoint(0, 2, 0, 0x8086, 0x10fb, 0x0200, 0x0);
        assertThat(add(NIC).rc()).isEqualTo(0);
        assertThat(vpci().device(xen.hardwareDomain(), NIC)).isNotNull();
        Domain g = xen.createDomain(DomainConfig.guest("g", 1));

        assertThat(DomctlCalls.assignDevice(dom0, SCRATCH, g.domid(), NIC, 0)).isEqualTo(HypercallResult.ok());

        assertThat(vpci().device(xen.hardwareDomain(), NIC)).isNull();
        assertThat(vpci().device(g, NIC)).isNotNull();
        assertThat(g.mmioRead(0x10000000L, 2)).hasValue(0x8086L);
        assertThat(g.mmioRead(0x10000002L, 2)).hasValue(0x10fbL);

        assertThat(DomctlCalls.deassignDevice(dom0, SCRATCH, g.domid(), NIC)).isEqualTo(HypercallResult.ok());

        assertThat(owner(NIC)).isSameAs(xen.domIo());
        assertThat(vpci().device(g, NIC)).isNull();
        assertThat(g.mmioRead(0x10000000L, 2)).hasValue(0xffffL);
        // De-quarantine: back to the hardware domain with its vPCI view rebuilt.
        assertThat(DomctlCalls.deassignDevice(dom0, SCRATCH, Domain.DOMID_IO, NIC)).isEqualTo(HypercallResult.ok());
        assertThat(vpci().device(xen.hardwareDomain(), NIC)).isNotNull();
    }

    @Test
    @DisplayName("upstream topology rules: a function-1 device fails assign with -EOPNOTSUPP and stays with hwdom")
    void upstreamFunctionOneRefused() {
        boot(Profile.UPSTREAM.toBuilder().vpciGuest(true).build());
        ecam.endpoint(0, 2, 1, 0x8086, 0x10ed, 0x0200, 0x0);
        assertThat(add(NIC_FN1).rc()).isEqualTo(0);
        Domain g = xen.createDomain(DomainConfig.guest("g", 1));

        assertThat(DomctlCalls.assignDevice(dom0, SCRATCH, g.domid(), NIC_FN1, 0).errno()).isEqualTo(Errno.EOPNOTSUPP);

        assertThat(owner(NIC_FN1)).isSameAs(xen.hardwareDomain());
        assertThat(vpci().device(g, NIC_FN1)).isNull();
    }

    @Test
    @DisplayName("upstream topology rules: 32 devices fit one guest, the 33rd fails with -ENOSPC and is rolled back")
    void upstreamThirtyThirdDevice() {
        boot(Profile.UPSTREAM.toBuilder().vpciGuest(true).build());
        Domain g = xen.createDomain(DomainConfig.guest("g", 1));
        for (int i = 0; i < 33; i++) {
            Sbdf s = Sbdf.of(i / 32, i % 32, 0);
            ecam.endpoint(s.bus(), s.device(), 0, 0x1af4, 0x1000 + i, 0x0200, 0x0);
            assertThat(add(s).rc()).isEqualTo(0);
        }
        for (int i = 0; i < 32; i++) {
            assertThat(DomctlCalls.assignDevice(dom0, SCRATCH, g.domid(), Sbdf.of(0, i, 0), 0).rc()).as("device %d", i)
                    .isEqualTo(0);
        }

        Sbdf last = Sbdf.of(1, 0, 0);
        assertThat(DomctlCalls.assignDevice(dom0, SCRATCH, g.domid(), last, 0).errno()).isEqualTo(Errno.ENOSPC);

        assertThat(owner(last)).isSameAs(xen.hardwareDomain());
        assertThat(VpciDomain.of(g).devices()).hasSize(32);
        assertThat(VpciDomain.of(g).topology().assignedMap()).isEqualTo(0xffffffff);
    }

    @Test
    @DisplayName("a toolstack vslot hint set before the assign domctl places the device in that slot (full), is ignored upstream")
    void requestedSlotHint() {
        boot(Profile.FULL);
        ecam.endpoint(0, 2, 0, 0x8086, 0x10fb, 0x0200, 0x0);
        assertThat(add(NIC).rc()).isEqualTo(0);
        Domain g = xen.createDomain(DomainConfig.guest("g", 1));
        vpci().requestVirtualSlot(g, NIC, 5);
        assertThat(vpci().requestedVirtualSlot(g, NIC)).isEqualTo(5);

        assertThat(DomctlCalls.assignDevice(dom0, SCRATCH, g.domid(), NIC, 0)).isEqualTo(HypercallResult.ok());

        assertThat(vpci().device(g, NIC).guestSbdfRecord()).isEqualTo(Sbdf.of(0, 5, 0));
        assertThat(g.mmioRead(0x10000000L + (5 << 15), 2)).hasValue(0x8086L);
    }

    @Test
    @DisplayName("the vslot hint is ignored without vpciGuestTopology: lowest free slot, as upstream")
    void requestedSlotIgnoredUpstreamTopology() {
        boot(Profile.FULL.toBuilder().vpciGuestTopology(false).build());
        ecam.endpoint(0, 2, 0, 0x8086, 0x10fb, 0x0200, 0x0);
        assertThat(add(NIC).rc()).isEqualTo(0);
        Domain g = xen.createDomain(DomainConfig.guest("g", 1));
        vpci().requestVirtualSlot(g, NIC, 5);

        assertThat(DomctlCalls.assignDevice(dom0, SCRATCH, g.domid(), NIC, 0)).isEqualTo(HypercallResult.ok());

        assertThat(vpci().device(g, NIC).guestSbdfRecord()).isEqualTo(Sbdf.of(0, 0, 0));
    }
}
