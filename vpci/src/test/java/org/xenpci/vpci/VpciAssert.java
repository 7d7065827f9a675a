package org.xenpci.vpci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.xenpci.core.Domain;
import org.xenpci.core.DomainConfig;
import org.xenpci.core.Hardware;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.pci.Sbdf;

/** Test helpers: a booted Xen, device creation, and {@code VPCI_READ_CHECK}-style assertions. */
final class VpciAssert {
    private VpciAssert() {
    }

    static final Profile UPSTREAM_VPCI = Profile.FULL.toBuilder().name("upstream-vpci")
            .vpciGuestIdentity(false).vpciGuestTopology(false).vpciMsi(false).build();

    static Xen xen(Profile profile) {
        return Xen.builder().profile(profile).hardware(hardware()).build();
    }

    /**
     * A host with nothing but one 16 MiB RAM bank, far above every BAR these tests place (Xen
     * does not boot without a bank: setup_mm's "No memory bank").
     */
    static Hardware hardware() {
        FdtNode memory = FdtNode.builder("memory@8000000000")
                .property(org.xenpci.core.fdt.FdtProperty.string("device_type", "memory"))
                .property(org.xenpci.core.fdt.FdtProperty.u32("reg", 0x80, 0, 0, 0x1000000))
                .build();
        return new Hardware(Fdt.of(FdtNode.root()
                .property(org.xenpci.core.fdt.FdtProperty.u32("#address-cells", 2))
                .property(org.xenpci.core.fdt.FdtProperty.u32("#size-cells", 2))
                .child(memory).build()), new PhysicalAddressSpace());
    }

    static Domain guest(Xen xen) {
        return xen.createDomain(DomainConfig.guest("g", 1));
    }

    /** A bare device (no header init), for register-table tests. */
    static VpciDevice bareDevice(Domain owner, FakeConfig hw) {
        return new VpciDevice(owner, VpciDeviceSpec.of(Sbdf.of(1, 0, 0), hw), List.of());
    }

    /** Asserts a config read of {@code size} bytes at {@code reg} returns exactly {@code expected}. */
    static void assertConfigRead(VpciDevice dev, int reg, int size, int expected) {
        int got = dev.read(reg, size);
        assertThat(Integer.toHexString(got))
                .as("read of %d bytes at 0x%x of %s", size, reg, dev)
                .isEqualTo(Integer.toHexString(expected));
    }
}
