package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Profile;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;

/** xen/drivers/vpci/vpci.c: assign_virtual_sbdf and the vpciGuestTopology switch. */
class VirtualTopologyTest {
    private final VirtualTopology t = new VirtualTopology();

    private static Sbdf g(int packed) {
        return Sbdf.fromPacked(packed);
    }

    @Test
    @DisplayName("upstream: slots are handed out lowest-first as 0000:00:NN.0 and reused after release")
    void lowestFree() {
        assertThat(g(t.assign(Sbdf.of(1, 0, 0), -1, false))).isEqualTo(new Sbdf(0, 0, 0, 0));
        int second = t.assign(Sbdf.of(2, 0, 0), -1, false);
        assertThat(g(second)).isEqualTo(new Sbdf(0, 0, 1, 0));
        assertThat(g(t.assign(Sbdf.of(3, 0, 0), 7, false))).as("vslot ignored").isEqualTo(new Sbdf(0, 0, 2, 0));
        t.release(second);
        assertThat(t.assignedMap()).isEqualTo(0b101);
        assertThat(g(t.assign(Sbdf.of(4, 0, 0), -1, false))).isEqualTo(new Sbdf(0, 0, 1, 0));
    }

    @Test
    @DisplayName("upstream: a function other than 0 is -EOPNOTSUPP")
    void functionZeroOnly() {
        assertThat(t.assign(Sbdf.of(1, 0, 1), -1, false)).isEqualTo(Errno.EOPNOTSUPP.rc());
        assertThat(t.assignedMap()).isZero();
    }

    @Test
    @DisplayName("the 33rd device is -ENOSPC")
    void full() {
        for (int i = 0; i < 32; i++) {
            assertThat(t.assign(Sbdf.of(i + 1, 0, 0), -1, false)).isGreaterThanOrEqualTo(0);
        }
        assertThat(t.assignedMap()).isEqualTo(0xFFFFFFFF);
        assertThat(t.assign(Sbdf.of(40, 0, 0), -1, false)).isEqualTo(Errno.ENOSPC.rc());
    }

    @Test
    @DisplayName("topology mode: a requested slot is honoured, a taken one is -EEXIST, one beyond 31 -EINVAL")
    void requestedSlot() {
        assertThat(g(t.assign(Sbdf.of(1, 0, 0), 5, true))).isEqualTo(new Sbdf(0, 0, 5, 0));
        assertThat(t.assign(Sbdf.of(2, 0, 0), 5, true)).isEqualTo(Errno.EEXIST.rc());
        assertThat(t.assign(Sbdf.of(2, 0, 0), 32, true)).isEqualTo(Errno.EINVAL.rc());
        assertThat(g(t.assign(Sbdf.of(2, 0, 0), -1, true))).isEqualTo(new Sbdf(0, 0, 0, 0));
    }

    @Test
    @DisplayName("topology mode: functions of one device share a slot and keep their numbers; the slot frees with the last")
    void multiFunction() {
        int f0 = t.assign(Sbdf.of(1, 3, 0), -1, true);
        int f2 = t.assign(Sbdf.of(1, 3, 2), -1, true);
        assertThat(g(f0)).isEqualTo(new Sbdf(0, 0, 0, 0));
        assertThat(g(f2)).isEqualTo(new Sbdf(0, 0, 0, 2));
        assertThat(t.assign(Sbdf.of(1, 3, 2), -1, true)).isEqualTo(Errno.EEXIST.rc());
        assertThat(g(t.assign(Sbdf.of(1, 4, 0), -1, true))).isEqualTo(new Sbdf(0, 0, 1, 0));
        t.release(f0);
        assertThat(t.assignedMap()).isEqualTo(0b11);
        t.release(f2);
        assertThat(t.assignedMap()).isEqualTo(0b10);
    }

    @Test
    @DisplayName("guest accesses are looked up by guest SBDF; an empty slot reads all-ones, detach frees the slot")
    void lookupByGuestSbdf() {
        Xen x = VpciAssert.xen(Profile.FULL.toBuilder().vpciGuestIdentity(true).vpciGuestTopology(false).build());
        Vpci vpci = new Vpci(x, List.of(), Vpci.Passthrough.NONE);
        Domain d = VpciAssert.guest(x);
        assertThat(vpci.assignDevice(d, VpciDeviceSpec.of(Sbdf.of(6, 0, 0), VpciHeaderTest.endpoint()), null)).isZero();
        assertThat(vpci.read(d, new Sbdf(0, 0, 0, 0), 0x00, 4)).isEqualTo(0x56781234);
        assertThat(vpci.read(d, new Sbdf(0, 0, 1, 0), 0x00, 4)).isEqualTo(0xFFFFFFFF);
        assertThat(vpci.read(d, Sbdf.of(6, 0, 0), 0x00, 2)).as("machine SBDF is not visible").isEqualTo(0xFFFF);
        vpci.deassignDevice(d, Sbdf.of(6, 0, 0));
        assertThat(vpci.read(d, new Sbdf(0, 0, 0, 0), 0x00, 4)).isEqualTo(0xFFFFFFFF);
        assertThat(VpciDomain.of(d).topology().assignedMap()).isZero();
    }

    @Test
    @DisplayName("topology: SR-IOV VFs of one PF (00:15.0, 00:15.2) each get a slot of their own as function 0; vslot honoured, -EEXIST, -EINVAL, -ENOSPC")
    void virtfnsGetTheirOwnSlots() {
        assertThat(g(t.assign(Sbdf.of(0, 0x15, 0), -1, true, true))).isEqualTo(new Sbdf(0, 0, 0, 0));
        int vf1 = t.assign(Sbdf.of(0, 0x15, 2), -1, true, true);
        assertThat(g(vf1)).as("not function 2 of slot 0").isEqualTo(new Sbdf(0, 0, 1, 0));
        // A non-VF function of the same physical device does not join a VF's slot either.
        assertThat(g(t.assign(Sbdf.of(0, 0x15, 4), -1, true))).isEqualTo(new Sbdf(0, 0, 2, 4));
        assertThat(g(t.assign(Sbdf.of(0, 0x15, 6), 9, true, true))).isEqualTo(new Sbdf(0, 0, 9, 0));
        assertThat(t.assign(Sbdf.of(0, 0x16, 0), 9, true, true)).isEqualTo(Errno.EEXIST.rc());
        assertThat(t.assign(Sbdf.of(0, 0x16, 0), 32, true, true)).isEqualTo(Errno.EINVAL.rc());
        t.release(vf1);
        assertThat(t.assignedMap()).isEqualTo(0b10_0000_0101);
        for (int i = 0; t.assignedMap() != -1; i++) {
            assertThat(t.assign(Sbdf.of(1, i, 0), -1, true, true)).isPositive().isNotZero();
        }
        assertThat(t.assign(Sbdf.of(2, 0, 0), -1, true, true)).isEqualTo(Errno.ENOSPC.rc());
    }
}
