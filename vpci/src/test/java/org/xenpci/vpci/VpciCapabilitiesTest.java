package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xenpci.vpci.VpciAssert.assertConfigRead;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Profile;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;

/** xen/drivers/vpci/cap.c (capability lists, STATUS, extended space) and the vpciGuestIdentity switch. */
class VpciCapabilitiesTest {
    private static final Sbdf DEV = Sbdf.of(3, 0, 0);

    /** Endpoint with PM 0x40 -> MSI 0x50 -> PCIe 0x70 (v2, 0x3C bytes) -> MSI-X 0xB0 and two ext caps (AER 0x100, ARI 0x140). */
    static FakeConfig device() {
        FakeConfig f = VpciHeaderTest.endpoint();
        f.set(0x06, 2, 0x8058).mask(0x06, 2, 0);
        f.set(0x34, 1, 0x40);
        f.set(0x40, 2, 0x5001);
        f.set(0x50, 2, 0x7005);
        f.set(0x70, 2, 0xB010).set(0x72, 2, 0x0002).set(0x78, 4, 0x00102810);
        f.set(0xB0, 2, 0x0011);
        f.set(0x3c, 2, 0x010B);
        f.set(0x2c, 4, 0xABCD1234);
        f.set(0x100, 4, 0x14010001);
        f.set(0x140, 4, 0x0001000E);
        return f;
    }

    private static Xen xen(boolean identity) {
        return VpciAssert.xen(Profile.FULL.toBuilder().vpciGuestIdentity(identity).vpciGuestTopology(false).build());
    }

    private static VpciDevice attach(Xen xen, Domain d, FakeConfig hw, List<CapabilityEmulator> caps) {
        Vpci vpci = new Vpci(xen, caps, Vpci.Passthrough.NONE);
        assertThat(vpci.assignDevice(d, VpciDeviceSpec.of(DEV, hw), null)).isZero();
        return vpci.device(d, DEV);
    }

    /** An emulator whose init fails, to exercise hiding. */
    static CapabilityEmulator failing(int id, boolean ext) {
        return new CapabilityEmulator() {
            public int capId() {
                return id;
            }

            public boolean isExtended() {
                return ext;
            }

            public int init(VpciDevice dev) {
                return Errno.ENOMEM.rc();
            }

            public int cleanup(VpciDevice dev, boolean hide) {
                return 0;
            }
        };
    }

    @Test
    @DisplayName("hwdom sees every capability: cached pointers, writes to hardware, IDs passed through")
    void hwdomList() {
        Xen x = xen(false);
        FakeConfig hw = device();
        VpciDevice dev = attach(x, x.hardwareDomain(), hw, List.of());
        assertConfigRead(dev, 0x34, 1, 0x40);
        assertConfigRead(dev, 0x40, 2, 0x5001);
        assertConfigRead(dev, 0x51, 1, 0x70);
        assertConfigRead(dev, 0xB1, 1, 0x00);
        assertThat(dev.registers().getRegister(0x40, 1)).isNull();
        assertThat(dev.registers().getRegister(0x06, 2)).as("hwdom STATUS is not trapped").isNull();
        hw.clearLog();
        dev.write(null, 0x41, 1, 0x99);
        assertThat(hw.writes).containsExactly(new FakeConfig.Access(0x41, 1, 0x99));
        assertConfigRead(dev, 0x41, 1, 0x50);
    }

    @Test
    @DisplayName("upstream guest: only MSI and MSI-X are linked; their bodies and everything else read all-ones")
    void guestFiltered() {
        Xen x = xen(false);
        FakeConfig hw = device();
        VpciDevice dev = attach(x, VpciAssert.guest(x), hw, List.of());
        assertConfigRead(dev, 0x34, 1, 0x50);
        assertConfigRead(dev, 0x50, 1, 0x05);
        assertConfigRead(dev, 0x51, 1, 0xB0);
        assertConfigRead(dev, 0xB0, 1, 0x11);
        assertConfigRead(dev, 0xB1, 1, 0x00);
        assertConfigRead(dev, 0x50, 4, 0xFFFFB005);
        assertConfigRead(dev, 0x40, 4, 0xFFFFFFFF);
        assertConfigRead(dev, 0x70, 4, 0xFFFFFFFF);
        assertConfigRead(dev, 0x3c, 4, 0xFFFFFFFF);
        hw.clearLog();
        dev.write(null, 0x34, 1, 0x40);
        dev.write(null, 0x50, 2, 0x0000);
        assertThat(hw.writes).isEmpty();
        assertConfigRead(dev, 0x34, 1, 0x50);
    }

    @Test
    @DisplayName("guest STATUS: RsvdZ reads 0, RO bits kept, RW1C bits passed as written, RsvdZ written 0")
    void guestStatus() {
        Xen x = xen(false);
        FakeConfig hw = device();
        VpciDevice dev = attach(x, VpciAssert.guest(x), hw, List.of());
        assertConfigRead(dev, 0x06, 2, 0x8018);
        hw.clearLog();
        dev.write(null, 0x06, 2, 0xFFFF);
        assertThat(hw.writes).containsExactly(new FakeConfig.Access(0x06, 2, 0xF918));
        hw.clearLog();
        dev.write(null, 0x07, 1, 0x80);
        assertThat(hw.writes).containsExactly(new FakeConfig.Access(0x06, 2, 0x8018));
    }

    @Test
    @DisplayName("guest without MSI/MSI-X: 0x34 reads 0 and CAP_LIST moves to RsvdP so STATUS hides it")
    void guestNoMsi() {
        Xen x = xen(false);
        FakeConfig hw = device();
        hw.set(0x40, 2, 0x0001);
        VpciDevice dev = attach(x, VpciAssert.guest(x), hw, List.of());
        assertConfigRead(dev, 0x34, 1, 0x00);
        assertConfigRead(dev, 0x06, 2, 0x8008);
        VpciRegister status = dev.registers().getRegister(0x06, 2);
        assertThat(status.rsvdpMask()).isEqualTo(0x0010);
        assertThat(status.roMask()).isEqualTo(0x06A9);
    }

    @Test
    @DisplayName("without CAP_LIST in STATUS nothing is registered at 0x34: a guest reads all-ones, hwdom hardware")
    void noCapList() {
        Xen x = xen(false);
        FakeConfig hw = device();
        hw.set(0x06, 2, 0x0000);
        VpciDevice g = attach(x, VpciAssert.guest(x), hw, List.of());
        assertConfigRead(g, 0x34, 1, 0xFF);
        VpciDevice h = attach(x, x.hardwareDomain(), device().set(0x06, 2, 0), List.of());
        assertConfigRead(h, 0x34, 1, 0x40);
        assertThat(h.registers().getRegister(0x34, 1)).isNull();
    }

    @Test
    @DisplayName("a looping legacy list makes hwdom registration collide: -EEXIST")
    void legacyLoop() {
        Xen x = xen(false);
        FakeConfig hw = device();
        hw.set(0x40, 2, 0x4001);
        Vpci vpci = new Vpci(x, List.of(), Vpci.Passthrough.NONE);
        assertThat(vpci.assignDevice(x.hardwareDomain(), VpciDeviceSpec.of(DEV, hw), null)).isEqualTo(Errno.EEXIST.rc());
        assertThat(vpci.device(x.hardwareDomain(), DEV)).isNull();
    }

    @Test
    @DisplayName("ext space: guest reads 0 at 0x100 and all-ones beyond; hwdom gets each header read-only and cached")
    void extended() {
        Xen x = xen(false);
        FakeConfig hw = device();
        VpciDevice g = attach(x, VpciAssert.guest(x), hw, List.of());
        assertConfigRead(g, 0x100, 4, 0);
        assertConfigRead(g, 0x104, 4, 0xFFFFFFFF);
        assertConfigRead(g, 0x140, 4, 0xFFFFFFFF);
        FakeConfig hw0 = device();
        VpciDevice h = attach(x, x.hardwareDomain(), hw0, List.of());
        hw0.set(0x100, 4, 0x12345678);
        assertConfigRead(h, 0x100, 4, 0x14010001);
        assertConfigRead(h, 0x140, 4, 0x0001000E);
        assertConfigRead(h, 0x104, 4, hw0.get(0x104, 4));
        hw0.clearLog();
        h.write(null, 0x140, 4, 0);
        assertThat(hw0.writes).isEmpty();
    }

    @Test
    @DisplayName("a device without extended config gets nothing at 0x100: a guest reads all-ones there")
    void noExtConfig() {
        Xen x = xen(false);
        Vpci vpci = new Vpci(x, List.of(), Vpci.Passthrough.NONE);
        Domain g = VpciAssert.guest(x);
        assertThat(vpci.assignDevice(g, VpciDeviceSpec.of(DEV, device()).withExtendedConfig(false), null)).isZero();
        assertConfigRead(vpci.device(g, DEV), 0x100, 4, 0xFFFFFFFF);
    }

    @Test
    @DisplayName("hwdom ext walk stops quietly on a loop and on an all-ones header")
    void extLoopAndBroken() {
        Xen x = xen(false);
        FakeConfig loop = device();
        loop.set(0x140, 4, 0x1001000E);
        VpciDevice h = attach(x, x.hardwareDomain(), loop, List.of());
        assertThat(h.registers().getRegister(0x100, 4)).isNotNull();
        assertThat(h.registers().getRegister(0x140, 4)).isNotNull();
        Domain other = x.hardwareDomain();
        FakeConfig broken = device();
        broken.set(0x140, 4, 0xFFFFFFFF);
        Vpci vpci = new Vpci(x, List.of(), Vpci.Passthrough.NONE);
        assertThat(vpci.assignDevice(other, VpciDeviceSpec.of(Sbdf.of(4, 0, 0), broken), null)).isZero();
        assertThat(vpci.device(other, Sbdf.of(4, 0, 0)).registers().getRegister(0x140, 4)).isNull();
    }

    @Test
    @DisplayName("a capability whose emulator fails init is unlinked from the emulated list (hwdom and guest)")
    void hideLegacy() {
        Xen x = xen(false);
        VpciDevice h = attach(x, x.hardwareDomain(), device(), List.of(failing(0x05, false)));
        assertConfigRead(h, 0x41, 1, 0x70);
        assertThat(h.registers().getRegister(0x51, 1)).isNull();
        VpciDevice g = attach(x, VpciAssert.guest(x), device(), List.of(failing(0x05, false)));
        assertConfigRead(g, 0x34, 1, 0xB0);
        assertConfigRead(g, 0x50, 1, 0xFF);
    }

    @Test
    @DisplayName("hiding the first extended capability zeroes only its ID; hiding a later one re-points the previous header")
    void hideExtended() {
        Xen x = xen(false);
        VpciDevice first = attach(x, x.hardwareDomain(), device(), List.of(failing(0x0001, true)));
        assertConfigRead(first, 0x100, 4, 0x14010000);
        Vpci vpci = new Vpci(x, List.of(failing(0x000E, true)), Vpci.Passthrough.NONE);
        assertThat(vpci.assignDevice(x.hardwareDomain(), VpciDeviceSpec.of(Sbdf.of(5, 0, 0), device()), null)).isZero();
        VpciDevice later = vpci.device(x.hardwareDomain(), Sbdf.of(5, 0, 0));
        assertConfigRead(later, 0x100, 4, 0x00010001);
        assertThat(later.registers().getRegister(0x140, 4)).isNull();
    }

    @Test
    @DisplayName("vpciGuestIdentity on: IDs, class, header type, subsystem, pin read from hardware; line/cache/latency read 0; PCIe cap linked read-only")
    void identityOn() {
        Xen x = xen(true);
        FakeConfig hw = device();
        VpciDevice dev = attach(x, VpciAssert.guest(x), hw, List.of());
        assertConfigRead(dev, 0x00, 4, 0x56781234);
        assertConfigRead(dev, 0x08, 4, 0x02000001);
        assertConfigRead(dev, 0x0c, 4, 0x00000000);
        assertConfigRead(dev, 0x2c, 4, 0xABCD1234);
        assertConfigRead(dev, 0x3c, 2, 0x0100);
        assertConfigRead(dev, 0x34, 1, 0x50);
        assertConfigRead(dev, 0x51, 1, 0x70);
        assertConfigRead(dev, 0x70, 4, 0x0002B010);
        assertConfigRead(dev, 0x71, 1, 0xB0);
        assertConfigRead(dev, 0x78, 4, 0x00102810);
        hw.clearLog();
        dev.write(null, 0x78, 2, 0x0000);
        dev.write(null, 0x00, 4, 0);
        dev.write(null, 0x3c, 1, 0x22);
        assertThat(hw.writes).isEmpty();
    }

    @Test
    @DisplayName("vpciGuestIdentity off: the same registers read all-ones and PCIe is not linked")
    void identityOff() {
        Xen x = xen(false);
        VpciDevice dev = attach(x, VpciAssert.guest(x), device(), List.of());
        assertConfigRead(dev, 0x00, 4, 0xFFFFFFFF);
        assertConfigRead(dev, 0x0e, 1, 0xFF);
        assertConfigRead(dev, 0x3c, 2, 0xFFFF);
        assertConfigRead(dev, 0x51, 1, 0xB0);
        assertConfigRead(dev, 0x78, 4, 0xFFFFFFFF);
    }
}
