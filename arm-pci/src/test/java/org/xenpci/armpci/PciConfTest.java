package org.xenpci.armpci;

import org.xenpci.armpci.testkit.FakeEcam;
import org.xenpci.armpci.testkit.Trees;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.pci.Sbdf;

@DisplayName("pci_conf_read/write over the host ECAM (xen/arch/arm/pci/ecam.c, pci-access.c)")
class PciConfTest {
    private static final long ECAM = 0x30_0000_0000L;

    private final FakeEcam ecam = new FakeEcam();

    /** One bridge: segment 0, buses 0x10..0x1f, ECAM at 0x30_0000_0000 (16 MiB). */
    private PciConf conf(Profile profile) {
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        space.register("ecam", ECAM, 0x100_0000L, ecam);
        Fdt fdt = Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L))
                .child(Trees.generic(ECAM, 0x10, 0x1f, 0)).build());
        return Boot.layer(Boot.xen(fdt, space, "pci-passthrough=on", profile)).conf();
    }

    @Test
    @DisplayName("a read on a covered bus reaches base + ((bus - busStart) << 20) + (devfn << 12) + reg")
    void coveredBusRead() {
        ecam.endpoint(0x01, 0x02, 0x3, 0x1af4, 0x1041, 0x0200, 0);
        PciConf conf = conf(Profile.UPSTREAM);
        Sbdf sbdf = new Sbdf(0, 0x11, 0x02, 0x3);

        assertThat(conf.read32(sbdf, 0x00)).isEqualTo(0x1041_1af4);
        assertThat(conf.read16(sbdf, 0x02)).isEqualTo(0x1041);
        assertThat(conf.read8(sbdf, 0x0b)).isEqualTo(0x02);
        assertThat(ecam.accesses.get(0).offset()).isEqualTo(0x1L << 20 | 0x13L << 12);
    }

    @Test
    @DisplayName("an unaligned read is not checked: it goes to the window as it is")
    void noAlignmentCheck() {
        ecam.endpoint(0x00, 0x00, 0, 0x1af4, 0x1041, 0x0200, -1);
        PciConf conf = conf(Profile.UPSTREAM);

        assertThat(conf.read32(new Sbdf(0, 0x10, 0, 0), 0x01)).isEqualTo(0x0010_411a);
        assertThat(ecam.accesses.get(ecam.accesses.size() - 1)).isEqualTo(new FakeEcam.Access(0x001, 4, false, 0));
    }

    @Test
    @DisplayName("writes on a covered bus are stored by the hardware at the ECAM offset")
    void coveredBusWrite() {
        byte[] cfg = ecam.endpoint(0x00, 0x01, 0, 0x1234, 0x5678, 0x0200, -1);
        PciConf conf = conf(Profile.UPSTREAM);

        conf.write16(new Sbdf(0, 0x10, 0x01, 0), 0x04, 0x0006);
        conf.write32(new Sbdf(0, 0x10, 0x01, 0), 0x10, 0xe000_0000);

        assertThat(cfg[0x04]).isEqualTo((byte) 0x06);
        assertThat(conf.read32(new Sbdf(0, 0x10, 0x01, 0), 0x10)).isEqualTo(0xe000_0000);
        assertThat(ecam.accesses).contains(new FakeEcam.Access(0x1L << 15 | 0x04, 2, true, 0x0006));
    }

    @Test
    @DisplayName("an absent function on a covered bus reads all-ones from the hardware")
    void absentFunction() {
        PciConf conf = conf(Profile.UPSTREAM);

        assertThat(conf.read32(new Sbdf(0, 0x12, 0x1f, 7), 0x00)).isEqualTo(0xffff_ffff);
        assertThat(conf.read16(new Sbdf(0, 0x12, 0x1f, 7), 0x00)).isEqualTo(0xffff);
    }

    @Test
    @DisplayName("upstream: a bus or segment no bridge covers reads 0 (PCI_ERR_VALUE quirk) and drops writes")
    void uncoveredBusUpstream() {
        PciConf conf = conf(Profile.UPSTREAM);

        assertThat(conf.read8(new Sbdf(0, 0x20, 0, 0), 0)).isEqualTo(0x00);
        assertThat(conf.read16(new Sbdf(0, 0x0f, 0, 0), 0)).isEqualTo(0x0000);
        assertThat(conf.read32(new Sbdf(1, 0x10, 0, 0), 0)).isEqualTo(0x0000_0000);
        conf.write32(new Sbdf(0, 0x20, 0, 0), 0, 0x1234_5678);
        assertThat(ecam.accesses).isEmpty();
    }

    @Test
    @DisplayName("full: a bus or segment no bridge covers reads all-ones of the width")
    void uncoveredBusFull() {
        PciConf conf = conf(Profile.FULL);

        assertThat(conf.read8(new Sbdf(0, 0x20, 0, 0), 0)).isEqualTo(0xff);
        assertThat(conf.read16(new Sbdf(0, 0x0f, 0, 0), 0)).isEqualTo(0xffff);
        assertThat(conf.read32(new Sbdf(1, 0x10, 0, 0), 0)).isEqualTo(0xffff_ffff);
        assertThat(ecam.accesses).isEmpty();
    }

    @Test
    @DisplayName("pci_ecam_map_bus returns NULL (-1) for a bus outside the window's range")
    void mapBusOutsideRange() {
        EcamWindow w = new EcamWindow(ECAM, 0x100_0000L, 0x10, 0x1f);

        assertThat(w.mapBus(0x0f, 0, 0)).isEqualTo(-1L);
        assertThat(w.mapBus(0x20, 0, 0)).isEqualTo(-1L);
        assertThat(w.mapBus(0x1f, 0xff, 0xffc)).isEqualTo(0x30_00ff_fffcL);
    }

    @Test
    @DisplayName("with pci_init not run (gate closed) every read is PCI_ERR_VALUE")
    void gateClosedConf() {
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        space.register("ecam", Trees.QEMU_ECAM, Trees.QEMU_ECAM_SIZE, ecam);
        ecam.endpoint(0, 0, 0, 0x1b36, 0x0008, 0x0600, -1);
        PciConf conf = Boot.layer(Boot.xen(Trees.qemuVirt(), space, "", Profile.UPSTREAM)).conf();

        assertThat(conf.read32(Sbdf.of(0, 0, 0), 0)).isEqualTo(0);
    }
}
