package org.xenpci.armpci.hw;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.xenpci.core.pci.PciRegs;

/**
 * The cached routes ({@link PciBus#routeMemory}'s per-block cache and index,
 * {@link HostBridgeHardware#functionAt}'s per-bus cache) against a fresh walk of the topology
 * after every config write, with seeded random writes to the registers routing depends on
 * (BARs, ROM, COMMAND, bridge windows, bus numbers) and to ones it does not (cache line size,
 * interrupt line, status, bridge control), through software writes, the model's own writes
 * and function resets. A write that should drop a cached route and does not shows as a
 * mismatch at the next probe of that block or bus.
 */
@DisplayName("Route caches: always the same answer as a fresh walk")
class RouteCacheModelTest {
    /** Where BARs and windows are placed: 8 MiB of memory space from here, so blocks are shared. */
    static final long REGION = 0x1000_0000L;
    static final int REGION_MIB = 8;
    /** BAR 2 (the 64-bit prefetchable one, upper half at +4) and BAR 4 (I/O) registers. */
    static final int BAR2 = PciRegs.PCI_BASE_ADDRESS_0 + 8;
    static final int BAR4 = PciRegs.PCI_BASE_ADDRESS_0 + 16;

    final PciFunction a = endpoint(0x1000);
    final PciFunction b1 = bridge();
    final PciFunction c = endpoint(0x4000);
    final PciFunction d = endpoint(0x1000);
    final PciFunction b3 = bridge();
    final PciFunction e = endpoint(0x2000);
    final PciFunction b2 = bridge();
    final PciFunction f = endpoint(0x1000);
    final PciFunction g = endpoint(0x4000);
    final List<PciFunction> all = List.of(a, b1, c, d, b3, e, b2, f, g);
    final HostBridgeHardware hb = HostBridgeHardware.builder().name("pcie@10000000").ecam(0x40_1000_0000L, 0x1000_0000L)
            .slot(0, 0, a)
            .bridge(1, 0, b1, PciBus.builder().slot(0, 0, c).slot(1, 0, d).bridge(2, 0, b3, PciBus.builder().slot(0, 0, e)))
            .bridge(2, 0, b2, PciBus.builder().slot(3, 0, f))
            .slot(3, 0, g)
            .build();

    static PciFunction endpoint(long memSize) {
        return ConfigImage.endpoint(0x1234, 0x1111).classCode(0x020000)
                .bar(0, BarKind.MEM32, memSize, false).bar(2, BarKind.MEM64, 0x10_0000, true)
                .bar(4, BarKind.IO, 0x20, false).rom(0x800).build().newFunction();
    }

    static PciFunction bridge() {
        return ConfigImage.bridge(0x1b36, 0x0001).classCode(0x060400).bar(0, BarKind.MEM32, 0x1000, false)
                .build().newFunction();
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 0x5eed, 0xc0ffee})
    void cachedRoutesEqualAFreshWalkAfterRandomConfigWrites(long seed) {
        Random rnd = new Random(seed);
        // A sane start (every bus numbered, BARs in the region, everything decoding), so the
        // random writes begin from routes that reach every bus.
        bus(b1, 0, 1, 2);
        bus(b3, 1, 2, 2);
        bus(b2, 0, 3, 3);
        for (PciFunction fn : all) {
            fn.config().write(PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY | PciRegs.PCI_COMMAND_IO);
        }
        int routedSomewhere = 0;
        int routedBehindBridges = 0;
        for (int step = 0; step < 4000; step++) {
            mutate(rnd);
            for (int p = 0; p < 12; p++) {
                boolean io = p % 4 == 3;
                long addr = probe(rnd, io);
                PciFunction cached = hb.memoryTarget(addr, io);
                assertThat(cached).as("seed %d step %d: %s access at 0x%x", seed, step, io ? "I/O" : "memory", addr)
                        .isSameAs(freshMemoryWalk(hb.rootBus(), addr, io));
                if (cached != null) {
                    routedSomewhere++;
                    if (cached != a && cached != g && cached != b1 && cached != b2) {
                        routedBehindBridges++;
                    }
                }
            }
            for (int bus = 0; bus < 6; bus++) {
                for (int dev = 0; dev < 4; dev++) {
                    assertThat(hb.functionAt(bus, dev, 0)).as("seed %d step %d: config %02x:%02x.0", seed, step, bus, dev)
                            .isSameAs(hb.rootBus().routeConfig(0, bus, dev, 0));
                }
            }
        }
        // The probes must have found functions, or the comparison proves little.
        assertThat(routedSomewhere).isGreaterThan(5000);
        assertThat(routedBehindBridges).as("behind bridges, of %d", routedSomewhere).isGreaterThan(1000);
    }

    /** An address to probe: half the time inside or just past some function's BAR, else anywhere in the region. */
    private long probe(Random rnd, boolean io) {
        if (rnd.nextBoolean()) {
            PciFunction fn = all.get(rnd.nextInt(all.size()));
            int bar = io ? 4 : fn.isBridge() ? 0 : rnd.nextInt(3) == 0 ? 2 : 0;
            long base = io && fn.isBridge() ? rnd.nextInt(0x2000) : fn.barAddress(bar);
            return base + rnd.nextInt(0x4100);
        }
        return io ? rnd.nextInt(0x2000) : REGION - 0x1000 + (long) rnd.nextInt((REGION_MIB << 20) + 0x2000);
    }

    /** One random change: software write, the model's write, or a reset, to a relevant or irrelevant register. */
    private void mutate(Random rnd) {
        PciFunction fn = all.get(rnd.nextInt(all.size()));
        ConfigSpace cs = fn.config();
        int pick = rnd.nextInt(100);
        if (pick < 2) {
            fn.functionLevelReset();
        } else if (pick < 14) {
            int cmd = (rnd.nextBoolean() ? PciRegs.PCI_COMMAND_MEMORY : 0) | (rnd.nextInt(4) == 0 ? 0 : PciRegs.PCI_COMMAND_IO)
                    | (rnd.nextBoolean() ? PciRegs.PCI_COMMAND_MASTER : 0);
            cs.write(PciRegs.PCI_COMMAND, 2, rnd.nextInt(6) == 0 ? cmd & ~PciRegs.PCI_COMMAND_MEMORY : cmd | PciRegs.PCI_COMMAND_MEMORY);
        } else if (pick < 50) {
            writeBar(rnd, fn, cs);
        } else if (pick < 75 && fn.isBridge()) {
            writeWindow(rnd, cs);
        } else if (pick < 80 && fn.isBridge()) {
            int sec = rnd.nextInt(5);
            bus(fn, rnd.nextInt(3), sec, sec + rnd.nextInt(3));
        } else {
            // Registers routing does not depend on.
            int[] offsets = {PciRegs.PCI_CACHE_LINE_SIZE, PciRegs.PCI_INTERRUPT_LINE, PciRegs.PCI_STATUS};
            int off = offsets[rnd.nextInt(offsets.length)];
            if (rnd.nextBoolean()) {
                cs.write(off, 1, rnd.nextInt(256));
            } else {
                cs.setInternal(off, 1, rnd.nextInt(256));
            }
        }
    }

    private static void writeBar(Random rnd, PciFunction fn, ConfigSpace cs) {
        int[] regs = fn.isBridge()
                ? new int[] {PciRegs.PCI_BASE_ADDRESS_0, PciRegs.PCI_ROM_ADDRESS1}
                : new int[] {PciRegs.PCI_BASE_ADDRESS_0, BAR2, BAR2 + 4,
                    BAR4, PciRegs.PCI_ROM_ADDRESS};
        int reg = regs[rnd.nextInt(regs.length)];
        int value;
        int kind = rnd.nextInt(10);
        if (kind == 0) {
            value = 0xffff_ffff; // sizing, as Xen's init_header and dom0 do
        } else if (reg == BAR2 + 4) {
            value = rnd.nextInt(8) == 0 ? 1 : 0; // upper half of the 64-bit BAR
        } else if (reg == BAR4) {
            value = rnd.nextInt(0x2000) | PciRegs.PCI_BASE_ADDRESS_SPACE_IO;
        } else {
            value = (int) (REGION + ((long) rnd.nextInt(REGION_MIB << 8) << 12)) | (reg == PciRegs.PCI_ROM_ADDRESS
                    || reg == PciRegs.PCI_ROM_ADDRESS1 ? rnd.nextInt(2) : 0);
        }
        if (rnd.nextInt(5) == 0) {
            cs.setInternal(reg, 4, value & ~0xf | cs.read(reg, 4) & 0xf); // the model's path, flag bits kept
        } else {
            cs.write(reg, 4, value);
        }
    }

    private static void writeWindow(Random rnd, ConfigSpace cs) {
        int base = 0x100 + rnd.nextInt(REGION_MIB);
        int limit = base + rnd.nextInt(4) - 1;
        switch (rnd.nextInt(4)) {
            case 0:
                cs.write(PciRegs.PCI_MEMORY_BASE, 4, base << 4 | limit << 20);
                break;
            case 1:
                cs.write(PciRegs.PCI_PREF_MEMORY_BASE, 4, base << 4 | limit << 20);
                break;
            case 2:
                cs.write(PciRegs.PCI_PREF_BASE_UPPER32 + (rnd.nextBoolean() ? 4 : 0), 4, rnd.nextInt(8) == 0 ? 1 : 0);
                break;
            default:
                int io = rnd.nextInt(2);
                cs.write(PciRegs.PCI_IO_BASE, 2, io << 4 | (io + rnd.nextInt(3) - 1) << 12);
                break;
        }
    }

    private static void bus(PciFunction bridge, int primary, int secondary, int subordinate) {
        bridge.config().write(PciRegs.PCI_PRIMARY_BUS, 4, primary | secondary << 8 | subordinate << 16);
    }

    /** The bus's routing with nothing cached: every function asked in turn (PCI-to-PCI Bridge 1.2, 4.1). */
    static PciFunction freshMemoryWalk(PciBus bus, long addr, boolean io) {
        for (int dev = 0; dev < 32; dev++) {
            PciDevice d = bus.device(dev);
            if (d == null) {
                continue;
            }
            for (int fn = 0; fn < 8; fn++) {
                PciFunction f = d.functionOrNull(fn);
                if (f == null) {
                    continue;
                }
                if (f.decodeBar(addr, io) >= 0) {
                    return f;
                }
                if (f.isBridge() && f.forwards(addr, io)) {
                    return freshMemoryWalk(f.secondaryBusSlots(), addr, io);
                }
            }
        }
        return null;
    }
}
