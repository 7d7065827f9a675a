package org.xenpci.armpci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenpci.armpci.hw.BarKind;
import org.xenpci.armpci.hw.ConfigImage;
import org.xenpci.armpci.hw.HostBridgeHardware;
import org.xenpci.armpci.hw.PciBus;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.testkit.FakeEcam;
import org.xenpci.armpci.testkit.Trees;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Profile;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;

/**
 * {@code PciConf.forFunction}: one function's pci_conf accessors resolved once (host bridge,
 * ECAM address, binding to the hardware's port) give what {@code pci_conf_read/write} on the
 * SBDF give, for every case Xen distinguishes: a covered bus, a bus or segment no bridge covers
 * (PCI_ERR_VALUE, per profile), an absent function, accesses the binding leaves to the window
 * (dword-crossing, past 0xfff, negative), and after bus numbers move under it.
 */
@DisplayName("PciConf.forFunction: the same answers as pci_conf_read/write on the SBDF")
class PciConfForFunctionTest {
    static final long ECAM = 0x30_0000_0000L;

    final PciFunction ep = endpoint(0x1111);
    final PciFunction bridge = ConfigImage.bridge(0x1b36, 0x0001).classCode(0x060400).build().newFunction();
    final PciFunction behind = endpoint(0x2222);
    final PciFunction mf0 = endpoint(0x3333);
    final PciFunction mf1 = endpoint(0x4444);

    static PciFunction endpoint(int device) {
        return ConfigImage.endpoint(0x1af4, device).classCode(0x020000).bar(0, BarKind.MEM32, 0x1000, false).build().newFunction();
    }

    /** Buses 0x10..0x1f on segment 0, the hardware's first bus 0x10. */
    PciConf conf(Profile profile) {
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        HostBridgeHardware.builder().name("pcie").ecam(ECAM, 0x100_0000L).firstBus(0x10)
                .slot(0, 0, ep)
                .bridge(1, 0, bridge, PciBus.builder().slot(0, 0, behind))
                .slot(2, 0, mf0).slot(2, 1, mf1)
                .build().attach(space);
        Fdt fdt = Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L))
                .child(Trees.generic(ECAM, 0x10, 0x1f, 0)).build());
        return Boot.layer(Boot.xen(fdt, space, "pci-passthrough=on", profile)).conf();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"upstream", "full"})
    void everyCaseMatchesTheSbdfAccessors(String profile) {
        PciConf conf = conf(Profile.named(profile));
        bridge.config().write(PciRegs.PCI_PRIMARY_BUS, 4, 0x10 | 0x11 << 8 | 0x11 << 16);
        int[] regs = {0, 1, 2, 3, 4, 0x0e, 0x10, 0x18, 0x19, 0x3c, 0xfc, 0xffc, 0xffd, 0xffe, 0xfff, 0x1000, 0x1ffc, -4};
        Random rnd = new Random(3);
        int compared = 0;
        for (int seg = 0; seg < 2; seg++) {
            for (int bus = 0x0e; bus <= 0x21; bus++) {
                for (int dev = 0; dev < 4; dev++) {
                    for (int fn = 0; fn < 3; fn++) {
                        Sbdf sbdf = new Sbdf(seg, bus, dev, fn);
                        PciConf.FunctionConf f = conf.forFunction(sbdf);
                        for (int reg : regs) {
                            for (int size = 1; size <= 4; size <<= 1) {
                                assertThat(f.read(reg, size)).as("%s reg %x size %d", sbdf, reg, size)
                                        .isEqualTo(conf.read(sbdf, reg, size));
                                compared++;
                            }
                        }
                        // Bus numbers move under the accessors made above: they follow.
                        if (rnd.nextInt(8) == 0) {
                            int sec = 0x11 + rnd.nextInt(3);
                            bridge.config().write(PciRegs.PCI_PRIMARY_BUS, 4, 0x10 | sec << 8 | sec << 16);
                        }
                    }
                }
            }
        }
        assertThat(compared).isGreaterThan(10_000);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"upstream", "full"})
    void writesLandAsTheSbdfWritesDo(String profile) {
        PciConf conf = conf(Profile.named(profile));
        Sbdf bridgeSbdf = new Sbdf(0, 0x10, 1, 0);
        Sbdf behindSbdf = new Sbdf(0, 0x13, 0, 0);
        PciConf.FunctionConf toBridge = conf.forFunction(bridgeSbdf);
        PciConf.FunctionConf toBehind = conf.forFunction(behindSbdf);
        assertThat(toBehind.read(0, 4)).isEqualTo(0xffff_ffff);

        toBridge.write(PciRegs.PCI_PRIMARY_BUS, 4, 0x10 | 0x13 << 8 | 0x13 << 16);
        assertThat(toBehind.read(0, 4)).isEqualTo(0x2222_1af4);
        toBehind.write(PciRegs.PCI_COMMAND, 2, 0x1_0002); // the width's bytes only
        assertThat(behind.config().read(PciRegs.PCI_COMMAND, 4) & 0xffff).isEqualTo(PciRegs.PCI_COMMAND_MEMORY);
        // A dword-crossing write goes the window's way: byte by byte, the last byte to the next function.
        toBehind.write(0xffe, 4, 0xaabb_ccdd);
        assertThat(conf.read(behindSbdf, 0xffe, 2)).isEqualTo(behind.config().read(0xffe, 2));
        // A bus no bridge covers: dropped, nothing changes.
        conf.forFunction(new Sbdf(0, 0x20, 0, 0)).write(PciRegs.PCI_COMMAND, 2, 2);
        assertThat(ep.config().read(PciRegs.PCI_COMMAND, 2)).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"upstream", "full"})
    void badWidthIsRefusedAsTheSbdfAccessorsRefuseIt(String profile) {
        PciConf conf = conf(Profile.named(profile));
        PciConf.FunctionConf f = conf.forFunction(new Sbdf(0, 0x10, 0, 0));
        assertThatThrownBy(() -> f.read(0, 3)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1, 2 or 4");
        assertThatThrownBy(() -> f.write(0, 8, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1, 2 or 4");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"upstream", "full"})
    void aWindowWithoutBindingsIsReachedThroughItsOwnDecode(String profile) {
        FakeEcam ecam = new FakeEcam();
        ecam.endpoint(0x01, 0x02, 0x3, 0x1af4, 0x1041, 0x0200, 0);
        PhysicalAddressSpace space = new PhysicalAddressSpace();
        space.register("ecam", ECAM, 0x100_0000L, ecam);
        Fdt fdt = Fdt.of(Trees.root().child(Trees.memory(0x4000_0000L, 0x1000_0000L))
                .child(Trees.generic(ECAM, 0x10, 0x1f, 0)).build());
        PciConf conf = Boot.layer(Boot.xen(fdt, space, "pci-passthrough=on", Profile.named(profile))).conf();

        assertThat(conf.forFunction(new Sbdf(0, 0x11, 0x02, 0x3)).read(0, 4)).isEqualTo(0x1041_1af4);
        assertThat(ecam.accesses).containsExactly(new FakeEcam.Access(0x1L << 20 | 0x13L << 12, 4, false, 0));
    }
}
