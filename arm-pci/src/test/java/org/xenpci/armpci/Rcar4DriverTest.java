package org.xenpci.armpci;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.DesignWareRootComplex;
import org.xenpci.armpci.hw.DeviceCatalog;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.PciBus;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.core.Errno;
import org.xenpci.core.PhysicalAddressSpace;

/** Xen's DesignWare child ops and R-Car OSID programming against the DesignWare hardware. */
class Rcar4DriverTest {
    static final long DBI = 0xe65d0000L;
    static final long ATU = 0xe65d3000L;
    static final long APP = 0xe65d6200L;
    static final long CFG = 0xfe000000L;

    PhysicalAddressSpace space;
    DesignWareRootComplex hw;
    PciFunction nvme;

    @BeforeEach
    void board() {
        space = new PhysicalAddressSpace();
        byte[] c = DeviceCatalog.QEMU_ROOT_PORT.dump().config();
        c[0x19] = 1;
        c[0x1a] = 1;
        PciFunction rp = PciFunction.fromConfig(c, DeviceCatalog.QEMU_ROOT_PORT.barSizes(), 0);
        nvme = DeviceCatalog.QEMU_NVME.newFunction();
        HostBridgeHardware b = HostBridgeHardware.builder().name("pcie")
                .designWare(new DesignWareRootComplex.Regions(DBI, 0x1000, ATU, 0x2000, APP, 0xe00, CFG, 0x400000))
                .bridge(0, 0, rp, PciBus.builder().slot(0, 0, nvme)).build();
        b.attach(space);
        hw = b.designWare().orElseThrow();
    }

    DesignWarePcie driver(int numViewport) {
        return new DesignWarePcie("/pcie", space, DBI, new EcamWindow(CFG, 0x400000, 1, 0xff), ATU, APP, numViewport,
                DesignWarePcie.RCAR4_DWC_VERSION);
    }

    @Test
    @DisplayName("a child read detects the unrolled iATU, programs region 1 CFG0 to bus<<24|dev<<19|fn<<16 and, with num-viewport 2, puts it back to IO")
    void childReadProgramsRegion1() {
        DesignWarePcie dw = driver(2);
        assertThat(dw.childRead(1, 0, 0, 4, -1)).isEqualTo(nvme.config().read(0, 4));
        assertThat(dw.iatuUnrollEnabled()).isTrue();
        assertThat(hw.regionType(1)).isEqualTo(DesignWareRootComplex.TYPE_IO);
        assertThat(hw.regionTarget(1)).isZero();
        assertThat(hw.regionEnabled(0)).isFalse();
    }

    @Test
    @DisplayName("with num-viewport 4 region 1 keeps its CFG0 target after the access")
    void manyViewportsKeepCfg0() {
        DesignWarePcie dw = driver(4);
        dw.childRead(1, 0, 0x0a, 2, 0xffff);
        assertThat(hw.regionType(1)).isEqualTo(DesignWareRootComplex.TYPE_CFG0);
        assertThat(hw.regionTarget(1)).isEqualTo(1L << 24);
    }

    @Test
    @DisplayName("a child write before any child read uses the legacy viewport (unroll not yet detected): the unrolled core ignores it and the write reaches nothing")
    void writeBeforeFirstReadUsesViewport() {
        DesignWarePcie dw = driver(2);
        dw.childWrite(1, 0, 0x04, 2, 0x0002);
        assertThat(nvme.config().read(0x04, 2) & 2).isZero();
        assertThat(hw.regionEnabled(1)).isFalse();
        dw.childRead(1, 0, 0, 4, -1);
        dw.childWrite(1, 0, 0x04, 2, 0x0002);
        assertThat(nvme.config().read(0x04, 2) & 2).isEqualTo(2);
    }

    @Test
    @DisplayName("OSID: init sets the default OSID once, slots allocate 0..15 then -EBUSY, bdf set/clear and mask land in CNVID/CNVIDMSK")
    void osid() {
        DesignWarePcie dw = driver(2);
        space.write(APP + 0x800, 4, 0x000f_0001L);
        assertThat(dw.osidRegsInit()).isZero();
        assertThat(hw.cnvOsidCtrl()).isEqualTo(0x0000_0001);
        for (int i = 0; i < 16; i++) {
            assertThat(dw.osidRegAlloc()).isEqualTo(i);
        }
        assertThat(dw.osidRegAlloc()).isEqualTo(Errno.EBUSY.rc());
        dw.osidRegFree(3);
        assertThat(dw.osidRegAlloc()).isEqualTo(3);
        dw.osidBdfSet(3, 5, 0x0100);
        assertThat(hw.cnvid(3)).isEqualTo(0x8005_0100);
        dw.osidBdfClear(3);
        assertThat(hw.cnvid(3)).isEqualTo(0x0005_0100);
        dw.bdfMaskSet(3, 0x7);
        assertThat(hw.cnvidMask(3)).isEqualTo(7);
    }
}
