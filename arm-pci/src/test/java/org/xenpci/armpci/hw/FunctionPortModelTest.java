package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenpci.core.MmioBinding;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.pci.PciRegs;

/**
 * The ECAM window's bound function ports ({@code PhysicalAddressSpace.bind} of one function's
 * 4 KiB, served by the host bridge's port) against a fresh, uncached walk of the topology after
 * seeded random changes to everything that moves a config target: bridges' bus numbers (software
 * writes, the model's writes, writes through a port, bridge resets), SR-IOV VF Enable, NumVFs and
 * ARI on two PFs (one behind a bridge), PF resets, and registers that move nothing. The ports are
 * bound once, before any change, as vPCI binds a device's at attach. Every function carries a
 * unique tag in its last dword, so a port answering for the wrong function shows even where two
 * functions' registers agree (VFs all read 0xFFFF IDs). A change that should end a port's epoch
 * and does not shows as a mismatch at the next probe.
 */
@DisplayName("Function ports: always the same answer as a fresh walk")
class FunctionPortModelTest {
    static final long ECAM = 0x40_1000_0000L;
    /** The tag register: the last dword of the config space, read-only, kept by resets. */
    static final int TAG = 0xffc;
    static final int[] DEVICES = {0, 1, 2, 3, 0x12, 0x13, 0x14};
    static final int BUSES = 6;

    final PciFunction a = endpoint();
    final PciFunction a1 = endpoint();
    final PciFunction b1 = bridge();
    final PciFunction c = endpoint();
    final PciFunction d = endpoint();
    final PciFunction b3 = bridge();
    final PciFunction e = endpoint();
    final PciFunction pf = DeviceCatalog.QEMU_IGB.newFunction();
    final PciFunction pf2 = DeviceCatalog.QEMU_IGB.newFunction();
    final PciFunction rp = rootPort();
    final PciFunction g = endpoint();
    final PciFunction h = endpoint();
    final List<PciFunction> bridges = List.of(b1, b3, rp);
    final List<PciFunction> pfs = List.of(pf, pf2);
    final PhysicalAddressSpace space = new PhysicalAddressSpace();
    final HostBridgeHardware hb = HostBridgeHardware.builder().name("pcie").ecam(ECAM, 0x1000_0000L)
            .slot(0, 0, a).slot(0, 1, a1)
            .bridge(1, 0, b1, PciBus.builder().slot(0, 0, c).slot(1, 0, d)
                    .bridge(2, 0, b3, PciBus.builder().slot(0, 0, e)).slot(3, 0, pf2))
            .slot(2, 0, pf)
            // A root port: only device 0 answers on its link (PCIe Base 7.3.1); h at 01.0 never does.
            .bridge(3, 0, rp, PciBus.builder().slot(0, 0, g).slot(1, 0, h))
            .build();
    int nextTag = 1;

    FunctionPortModelTest() {
        hb.attach(space);
        for (PciFunction f : List.of(a, a1, b1, c, d, b3, e, pf, pf2, rp, g, h)) {
            tag(f);
        }
    }

    static PciFunction endpoint() {
        return ConfigImage.endpoint(0x1234, 0x1111).classCode(0x020000).bar(0, BarKind.MEM32, 0x1000, false)
                .build().newFunction();
    }

    static PciFunction bridge() {
        return ConfigImage.bridge(0x1b36, 0x0001).classCode(0x060400).build().newFunction();
    }

    static PciFunction rootPort() {
        return PciFunction.fromConfig(DeviceCatalog.QEMU_ROOT_PORT.dump().config(), DeviceCatalog.QEMU_ROOT_PORT.barSizes(), 0);
    }

    /** One binding per (bus, device, function) probed, made before anything changes. */
    record Port(int bus, int dev, int fn, PhysicalAddressSpace.Binding binding) {
    }

    List<Port> bindAll() {
        List<Port> ports = new ArrayList<>();
        for (int bus = 0; bus < BUSES; bus++) {
            for (int dev : DEVICES) {
                for (int fn = 0; fn < 8; fn++) {
                    ports.add(new Port(bus, dev, fn, space.bind(ECAM + ((long) bus << 20 | dev << 15 | fn << 12), ConfigSpace.SIZE)));
                }
            }
        }
        return ports;
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 0x5eed, 0xc0ffee, 42})
    void portsEqualAFreshWalkAfterRandomTopologyChanges(long seed) {
        Random rnd = new Random(seed);
        List<Port> ports = bindAll();
        bus(b1, 0, 1, 2);
        bus(b3, 1, 2, 2);
        bus(rp, 0, 3, 3);
        PciFunction[] seen = new PciFunction[ports.size()];
        int vfHits = 0;
        int behindBridges = 0;
        int retargeted = 0;
        int masterAborts = 0;
        for (int step = 0; step < 1500; step++) {
            mutate(rnd, ports);
            for (int i = 0; i < ports.size(); i++) {
                Port p = ports.get(i);
                PciFunction fresh = hb.rootBus().routeConfig(0, p.bus, p.dev, p.fn);
                assertThat(p.binding.bound()).isTrue();
                assertThat(p.binding.read(TAG, 4)).as("seed %d step %d: %02x:%02x.%d tag", seed, step, p.bus, p.dev, p.fn)
                        .isEqualTo(expected(fresh, TAG, 4));
                int reg = rnd.nextInt(ConfigSpace.SIZE);
                int size = 1 << rnd.nextInt(3);
                long got = p.binding.read(reg, size);
                if ((reg & 3) + size <= 4) {
                    assertThat(got).as("seed %d step %d: %02x:%02x.%d reg %x/%d", seed, step, p.bus, p.dev, p.fn, reg, size)
                            .isEqualTo(expected(fresh, reg, size));
                } else {
                    assertThat(got).as("a dword-crossing access is left to the window").isEqualTo(MmioBinding.UNSERVED);
                }
                if (fresh == null) {
                    masterAborts++;
                } else {
                    vfHits += fresh.vfOfOrNull() != null ? 1 : 0;
                    behindBridges += p.bus > 0 ? 1 : 0;
                }
                if (seen[i] != fresh && step > 0) {
                    retargeted++;
                }
                seen[i] = fresh;
            }
        }
        // The changes must have moved targets under live ports, or the comparison proves little.
        assertThat(vfHits).as("reads answered by a VF").isGreaterThan(3_000);
        assertThat(behindBridges).as("reads answered behind a bridge").isGreaterThan(4_000);
        assertThat(masterAborts).isGreaterThan(20_000);
        assertThat(retargeted).as("ports whose answer changed between two steps").isGreaterThan(2_000);
    }

    @Test
    @DisplayName("a port declines what the window splits (dword-crossing, 8-byte) and offsets outside its 4 KiB; the window's own decode answers those")
    void declinesWhatTheWindowSplits() {
        PhysicalAddressSpace.Binding p = space.bind(ECAM, ConfigSpace.SIZE);
        assertThat(p.read(0, 4)).isEqualTo(Integer.toUnsignedLong(a.config().read(0, 4)));
        assertThat(p.read(2, 4)).isEqualTo(MmioBinding.UNSERVED);
        assertThat(p.read(0, 8)).isEqualTo(MmioBinding.UNSERVED);
        assertThat(p.read(ConfigSpace.SIZE, 1)).isEqualTo(MmioBinding.UNSERVED);
        assertThat(p.read(-1, 1)).isEqualTo(MmioBinding.UNSERVED);
        assertThat(p.write(2, 4, 0)).isFalse();
        // Only one function's aligned 4 KiB binds.
        assertThat(space.bind(ECAM + 4, ConfigSpace.SIZE).bound()).isFalse();
        assertThat(space.bind(ECAM, 2 * ConfigSpace.SIZE).bound()).isFalse();
    }

    @Test
    @DisplayName("a write through a port lands as the window's write; one to nothing is dropped")
    void writesThroughAPort() {
        PhysicalAddressSpace.Binding toB1 = space.bind(ECAM + (1 << 15), ConfigSpace.SIZE);
        PhysicalAddressSpace.Binding behind = space.bind(ECAM + (1L << 20), ConfigSpace.SIZE);
        assertThat(behind.read(TAG, 4)).isEqualTo(0xffff_ffffL);
        assertThat(toB1.write(PciRegs.PCI_PRIMARY_BUS, 4, 0x00_01_01_00L)).isTrue();
        assertThat(b1.secondaryBus()).isEqualTo(1);
        assertThat(behind.read(TAG, 4)).as("c now answers at bus 1").isEqualTo(Integer.toUnsignedLong(c.config().read(TAG, 4)));
        assertThat(behind.write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY)).isTrue();
        assertThat(c.config().read(PciRegs.PCI_COMMAND, 2)).isEqualTo(PciRegs.PCI_COMMAND_MEMORY);
        PhysicalAddressSpace.Binding nothing = space.bind(ECAM + (9L << 20), ConfigSpace.SIZE);
        assertThat(nothing.write(PciRegs.PCI_COMMAND, 2, 0x7)).isTrue();
        assertThat(nothing.read(PciRegs.PCI_COMMAND, 2)).isEqualTo(0xffffL);
    }

    @Test
    @DisplayName("racing renumbering: a port reads the function before or after the change, never a third, and the new one once it settles")
    void racingRenumbering() throws Exception {
        bus(b1, 0, 1, 2);
        PhysicalAddressSpace.Binding port = space.bind(ECAM + (1L << 20), ConfigSpace.SIZE);
        long cTag = Integer.toUnsignedLong(c.config().read(TAG, 4));
        long pf2Tag = Integer.toUnsignedLong(pf2.config().read(TAG, 4));
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Long> bad = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            while (!stop.get()) {
                long v = port.read(TAG, 4);
                if (v != cTag && v != 0xffff_ffffL) {
                    bad.compareAndSet(null, v);
                }
                long w = space.bind(ECAM + (1L << 20 | 3 << 15), ConfigSpace.SIZE).read(TAG, 4);
                if (w != pf2Tag && w != 0xffff_ffffL) {
                    bad.compareAndSet(null, w);
                }
            }
        });
        reader.start();
        Random rnd = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            bus(b1, 0, rnd.nextBoolean() ? 1 : 4, 4);
        }
        bus(b1, 0, 1, 2);
        stop.set(true);
        reader.join();
        assertThat(bad.get()).as("a value no function at 01:00.0 ever had").isNull();
        assertThat(port.read(TAG, 4)).isEqualTo(cTag);
    }

    static long expected(PciFunction f, int reg, int size) {
        return f == null ? (size == 4 ? 0xffff_ffffL : (1L << (8 * size)) - 1) : Integer.toUnsignedLong(f.config().read(reg, size));
    }

    void tag(PciFunction f) {
        f.config().setInternal(TAG, 4, 0x7a90_0000 | nextTag++);
    }

    /** One random change: bus numbers, VFs, a reset, or a register nothing depends on. */
    void mutate(Random rnd, List<Port> ports) {
        int pick = rnd.nextInt(100);
        if (pick < 30) {
            PciFunction br = bridges.get(rnd.nextInt(bridges.size()));
            int sec = rnd.nextInt(BUSES);
            int primary = rnd.nextInt(3);
            int sub = sec + rnd.nextInt(3);
            int v = primary | sec << 8 | sub << 16;
            switch (rnd.nextInt(3)) {
                case 0:
                    br.config().write(PciRegs.PCI_PRIMARY_BUS, 4, v);
                    break;
                case 1:
                    br.config().setInternal(PciRegs.PCI_SECONDARY_BUS, 1, sec);
                    break;
                default:
                    // Through a port that reaches the bridge now, if one does (as dom0's writes do).
                    for (Port p : ports) {
                        if (hb.rootBus().routeConfig(0, p.bus, p.dev, p.fn) == br) {
                            p.binding.write(PciRegs.PCI_PRIMARY_BUS, 4, v);
                            break;
                        }
                    }
                    break;
            }
        } else if (pick < 33) {
            bridges.get(rnd.nextInt(bridges.size())).functionLevelReset();
        } else if (pick < 63) {
            PciFunction p = pfs.get(rnd.nextInt(2));
            SriovCapability s = p.sriov().orElseThrow();
            int pos = s.position();
            int ctrl = p.config().read(pos + SriovCapability.CTRL, 2);
            if ((ctrl & SriovCapability.CTRL_VFE) != 0 && rnd.nextInt(3) > 0) {
                p.config().write(pos + SriovCapability.CTRL, 2, ctrl & ~SriovCapability.CTRL_VFE);
            } else {
                p.config().write(pos + SriovCapability.NUM_VF, 2, rnd.nextInt(s.totalVfs() + 2));
                p.config().write(pos + SriovCapability.CTRL, 2, SriovCapability.CTRL_VFE
                        | (rnd.nextBoolean() ? SriovCapability.CTRL_ARI : 0) | SriovCapability.CTRL_MSE);
                for (PciFunction vf : s.virtualFunctions()) {
                    tag(vf);
                }
            }
        } else if (pick < 66) {
            pfs.get(rnd.nextInt(2)).functionLevelReset();
        } else {
            // Registers no config target depends on.
            List<PciFunction> any = List.of(a, a1, c, d, e, g, b1, rp);
            PciFunction f = any.get(rnd.nextInt(any.size()));
            int[] offsets = {PciRegs.PCI_CACHE_LINE_SIZE, PciRegs.PCI_INTERRUPT_LINE, PciRegs.PCI_COMMAND};
            f.config().write(offsets[rnd.nextInt(offsets.length)], 1, rnd.nextInt(256));
        }
    }

    static void bus(PciFunction bridge, int primary, int secondary, int subordinate) {
        bridge.config().write(PciRegs.PCI_PRIMARY_BUS, 4, primary | secondary << 8 | subordinate << 16);
    }
}
