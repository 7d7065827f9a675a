package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.PhysicalAddressSpace;

/** The DesignWare root complex hardware: DBI header, port logic, iATU programming and config forwarding. */
class DesignWareRootComplexTest {
    static final long DBI = 0xe65d0000L;
    static final long ATU = 0xe65d3000L;
    static final long APP = 0xe65d6200L;
    static final long CFG = 0xfe000000L;

    PhysicalAddressSpace space;
    PciFunction rootPort;
    PciFunction upstream;
    PciFunction nvme;
    PciFunction behindSwitch;

    /** Root port 00:00.0 (bus 1..2), a switch-like port at 01:00.0 (bus 2), an NVMe at 02:00.0. */
    @BeforeEach
    void board() {
        space = new PhysicalAddressSpace();
        rootPort = bridge(DeviceCatalog.QEMU_ROOT_PORT, 0, 1, 2);
        upstream = bridge(DeviceCatalog.QEMU_ROOT_PORT, 1, 2, 2);
        behindSwitch = DeviceCatalog.QEMU_NVME.newFunction();
        PciBus.Builder bus2 = PciBus.builder().slot(0, 0, behindSwitch);
        PciBus.Builder bus1 = PciBus.builder().bridge(0, 0, upstream, bus2);
        HostBridgeHardware hw = HostBridgeHardware.builder().name("pcie")
                .designWare(new DesignWareRootComplex.Regions(DBI, 0x1000, ATU, 0x2000, APP, 0xe00, CFG, 0x400000))
                .bridge(0, 0, rootPort, bus1).build();
        hw.attach(space);
    }

    static PciFunction bridge(DeviceCatalog d, int primary, int secondary, int subordinate) {
        byte[] c = d.dump().config();
        c[0x18] = (byte) primary;
        c[0x19] = (byte) secondary;
        c[0x1a] = (byte) subordinate;
        return PciFunction.fromConfig(c, d.barSizes(), d.romSize());
    }

    void region(int i, int type, long base, long size, long target) {
        long r = ATU + ((long) i << 9);
        space.write(r + 0x08, 4, base & 0xffffffffL);
        space.write(r + 0x0c, 4, base >>> 32);
        space.write(r + 0x10, 4, (base + size - 1) & 0xffffffffL);
        space.write(r + 0x20, 4, (base + size - 1) >>> 32);
        space.write(r + 0x14, 4, target & 0xffffffffL);
        space.write(r + 0x18, 4, target >>> 32);
        space.write(r + 0x00, 4, type);
        space.write(r + 0x04, 4, 0x8000_0000L);
    }

    static long busdev(int bus, int dev, int fn) {
        return (long) bus << 24 | dev << 19 | fn << 16;
    }

    @Test
    @DisplayName("DBI: the root port's type 1 header at 0..0x6ff (writable bus numbers), link up in PORT_DEBUG1, the viewport reads all-ones (unrolled iATU)")
    void dbiHeaderAndPortLogic() {
        assertThat(space.read(DBI, 4)).isEqualTo(Integer.toUnsignedLong(rootPort.config().read(0, 4)));
        assertThat(space.read(DBI + 0x0e, 1) & 0x7f).isEqualTo(1);
        assertThat(space.read(DBI + 0x19, 1)).isEqualTo(1);
        space.write(DBI + 0x1a, 1, 3);
        assertThat(rootPort.subordinateBus()).isEqualTo(3);
        assertThat(space.read(DBI + 0x72c, 4) & (1 << 4)).isNotZero();
        assertThat(space.read(DBI + 0x900, 4)).isEqualTo(0xffff_ffffL);
    }

    @Test
    @DisplayName("an unprogrammed or disabled config window reads all-ones and drops writes")
    void unprogrammedWindow() {
        assertThat(space.read(CFG, 4)).isEqualTo(0xffff_ffffL);
        region(1, DesignWareRootComplex.TYPE_CFG0, CFG, 0x400000, busdev(1, 0, 0));
        space.write(ATU + (1 << 9) + 0x04, 4, 0);
        assertThat(space.read(CFG, 4)).isEqualTo(0xffff_ffffL);
    }

    @Test
    @DisplayName("CFG0 reaches device 0 on the root port's link whatever the bus field says; other devices read all-ones")
    void cfg0() {
        region(1, DesignWareRootComplex.TYPE_CFG0, CFG, 0x400000, busdev(1, 0, 0));
        assertThat(space.read(CFG, 4)).isEqualTo(Integer.toUnsignedLong(upstream.config().read(0, 4)));
        // Xen's FIXME: CFG0 for bus 2 still lands on the link partner (the switch port at 01:00.0).
        region(1, DesignWareRootComplex.TYPE_CFG0, CFG, 0x400000, busdev(2, 0, 0));
        assertThat(space.read(CFG + 0x19, 1)).isEqualTo(2); // the switch port's secondary bus, not the NVMe's
        region(1, DesignWareRootComplex.TYPE_CFG0, CFG, 0x400000, busdev(1, 1, 0));
        assertThat(space.read(CFG, 4)).isEqualTo(0xffff_ffffL);
    }

    @Test
    @DisplayName("CFG1 routes by bus number through the bridges below the root port; a CFG1 to the link's own bus reads all-ones")
    void cfg1() {
        region(0, DesignWareRootComplex.TYPE_CFG1, CFG, 0x400000, busdev(2, 0, 0));
        assertThat(space.read(CFG, 4)).isEqualTo(Integer.toUnsignedLong(behindSwitch.config().read(0, 4)));
        space.write(CFG + 0x04, 2, 0x0002);
        assertThat(behindSwitch.config().read(0x04, 2) & 0x2).isEqualTo(2);
        region(0, DesignWareRootComplex.TYPE_CFG1, CFG, 0x400000, busdev(1, 0, 0));
        assertThat(space.read(CFG, 4)).isEqualTo(0xffff_ffffL);
    }

    @Test
    @DisplayName("the lowest enabled region covering the address wins; an IO-typed region over the window reads all-ones")
    void regionPriority() {
        region(1, DesignWareRootComplex.TYPE_CFG0, CFG, 0x400000, busdev(1, 0, 0));
        region(0, DesignWareRootComplex.TYPE_IO, CFG, 0x400000, 0);
        assertThat(space.read(CFG, 4)).isEqualTo(0xffff_ffffL);
        space.write(ATU + 0x04, 4, 0);
        assertThat(space.read(CFG, 4)).isEqualTo(Integer.toUnsignedLong(upstream.config().read(0, 4)));
    }

    @Test
    @DisplayName("app registers hold what Xen writes (CNVID, CNVIDMSK, CNVOSIDCTRL); misaligned register accesses are refused by the bus target")
    void appRegisters() {
        space.write(APP + 0x700 + 8, 4, 0x8003_0100L);
        space.write(APP + 0x780 + 8, 4, 0xff);
        space.write(APP + 0x800, 4, 0x0005_0000L);
        assertThat(space.read(APP + 0x708, 4)).isEqualTo(0x8003_0100L);
        assertThat(space.read(APP + 0x788, 4)).isEqualTo(0xffL);
        assertThat(space.read(APP + 0x800, 4)).isEqualTo(0x0005_0000L);
        assertThat(space.read(APP + 0x702, 2)).isEqualTo(0xffffL);
    }

    @Test
    @DisplayName("the root bus holds only the root port: a function at another device is refused")
    void rootBusOnlyRootPort() {
        assertThatThrownBy(() -> HostBridgeHardware.builder().name("x")
                .designWare(new DesignWareRootComplex.Regions(DBI, 0x1000, ATU, 0x2000, APP, 0xe00, CFG, 0x400000))
                .slot(1, 0, DeviceCatalog.QEMU_NVME.newFunction()).build())
                .isInstanceOf(HardwareConfigException.class).hasMessageContaining("root port");
    }
}
