package org.xenpci.bench;

import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * The trap path end to end on the default platform (full profile unless named), each figure
 * against {@link #rawArrayRead} in the same run: a guest dword config read with the trace as
 * {@code XenHost.boot(platform, profile)} gives it and with every category but TRAP/CONFIG
 * explicitly on, a guest COMMAND write, an MSI-X fire of the guest's NVMe to its LPI plus the
 * acknowledge, and the hardware domain's trapped (full) against direct-mapped (upstream) read.
 * Run with {@code -prof gc}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TrapPathBenchmark {
    static final long GUEST_CFG = 0x10000000L;
    static final long HWDOM_NVME = 0x40_1000_0000L + (2 << 15);

    /** The baseline: an {@code int[]} load with the same index arithmetic as the config reads. */
    @State(Scope.Thread)
    public static class Raw {
        final int[] words = new int[16];
        int reg;

        @Setup(Level.Trial)
        public void fill() {
            for (int i = 0; i < words.length; i++) {
                words[i] = 0x1b36_0010 + i;
            }
        }
    }

    /** A guest with the NVMe as 00:00.0, its reference guest probed (MSI-X set up). */
    @State(Scope.Thread)
    public static class GuestNvme {
        Vcpu vcpu;
        org.xenpci.vpci.Vpci vpci;
        PciFunction nvme;
        int command;
        int lpi;
        int reg;

        /** Boots with {@code trace}; null means the default of {@code XenHost.boot(platform, profile)}. */
        void boot(Trace trace) {
            XenHost host = trace == null ? XenHost.boot(DefaultPlatform.build(), Profile.FULL)
                    : XenHost.boot(DefaultPlatform.build(), Profile.FULL, trace);
            vcpu = guest(host, 1, "0000:00:02.0").vcpu(0);
            vpci = host.vpci();
            nvme = host.platform().function(Sbdf.of(0, 2, 0)).orElseThrow();
            command = (int) vcpu.mmioRead(GUEST_CFG + PciRegs.PCI_COMMAND, 2);
            nvme.signal(0);
            List<Integer> pending = vcpu.pendingInterrupts();
            if (pending.size() != 1) {
                throw new IllegalStateException("MSI-X entry 0 did not land as one LPI: " + pending);
            }
            lpi = pending.get(0);
            vcpu.acknowledge(lpi);
        }

        @Setup(Level.Trial)
        public void boot() {
            boot(null);
        }
    }

    /** As {@link GuestNvme} with TRAP and CONFIG explicitly off (the figure the older benchmarks gave). */
    @State(Scope.Thread)
    public static class GuestNvmeHotOff extends GuestNvme {
        @Override
        @Setup(Level.Trial)
        public void boot() {
            boot(new Trace(EnumSet.complementOf(EnumSet.of(TraceCategory.TRAP, TraceCategory.CONFIG))));
        }
    }

    /** As {@link GuestNvme} with the default trace minus IRQ (no per-message interrupt events). */
    @State(Scope.Thread)
    public static class GuestNvmeIrqOff extends GuestNvme {
        @Override
        @Setup(Level.Trial)
        public void boot() {
            Trace t = Trace.standard();
            t.enable(TraceCategory.IRQ, false);
            boot(t);
        }
    }

    /** The hardware domain, full profile: ECAM trapped to vPCI. */
    @State(Scope.Thread)
    public static class HwdomTrapped {
        Vcpu vcpu;
        int reg;

        @Setup(Level.Trial)
        public void boot() {
            vcpu = XenHost.boot(DefaultPlatform.build(), profile()).xen().hardwareDomain().vcpu(0);
        }

        Profile profile() {
            return Profile.FULL;
        }
    }

    /** The hardware domain, upstream profile: ECAM mapped 1:1, straight to the host bridge model. */
    @State(Scope.Thread)
    public static class HwdomDirect extends HwdomTrapped {
        @Override
        Profile profile() {
            return Profile.UPSTREAM;
        }
    }

    /** Boots a guest with {@code vcpus} vCPUs and the given functions, and runs its reference guest. */
    static org.xenpci.core.Domain guest(XenHost host, int vcpus, String... bdfs) {
        StringBuilder pci = new StringBuilder();
        for (String b : bdfs) {
            pci.append(pci.length() == 0 ? "" : ", ").append('"').append(b).append('"');
        }
        XlConfig cfg = XlConfigParser.parse("name = \"bench\"\nmemory = 256\nvcpus = " + vcpus + "\npci = [ " + pci + " ]\n",
                "bench.cfg");
        Libxl libxl = new Libxl(host);
        libxl.makeAssignable(cfg);
        var d = libxl.createDomain(cfg).domain();
        new ReferenceGuest(d).probe();
        return d;
    }

    @Benchmark
    public int rawArrayRead(Raw s) {
        s.reg = (s.reg + 1) & 15;
        return s.words[s.reg];
    }

    /** A guest dword config read over the header, trace as {@code XenHost.boot} gives it. */
    @Benchmark
    public long guestReadDefaultTrace(GuestNvme s) {
        s.reg = (s.reg + 4) & 0x3c;
        return s.vcpu.mmioRead(GUEST_CFG + s.reg, 4);
    }

    /**
     * The same reads straight into vPCI, without the trap (no stage-2 fault, p2m or vCPU entry):
     * {@code vpci_read} as Xen's tools/tests/vpci harness times it (tools/xen-vpci-bench), here
     * with the device lookup, the seqlock and the hardware behind pass-through registers.
     */
    @Benchmark
    public int guestVpciReadNoTrap(GuestNvme s) {
        s.reg = (s.reg + 4) & 0x3c;
        return s.vpci.read(s.vcpu.domain(), 0, s.reg, 4);
    }

    /** The same with TRAP and CONFIG explicitly off. */
    @Benchmark
    public long guestReadHotOff(GuestNvmeHotOff s) {
        s.reg = (s.reg + 4) & 0x3c;
        return s.vcpu.mmioRead(GUEST_CFG + s.reg, 4);
    }

    /** A guest COMMAND write of its current value (no decoding change), default trace. */
    @Benchmark
    public void guestCommandWrite(GuestNvme s) {
        s.vcpu.mmioWrite(GUEST_CFG + PciRegs.PCI_COMMAND, 2, s.command);
    }

    /** The NVMe fires MSI-X entry 0 (host bridge, ITS, host LPI, vLPI on the vCPU); the guest acknowledges. Default trace. */
    @Benchmark
    public boolean msixFireToLpi(GuestNvme s) {
        s.nvme.signal(0);
        return s.vcpu.acknowledge(s.lpi);
    }

    /** The same fire with the IRQ category off: the message path itself. */
    @Benchmark
    public boolean msixFireToLpiIrqOff(GuestNvmeIrqOff s) {
        s.nvme.signal(0);
        return s.vcpu.acknowledge(s.lpi);
    }

    /** The hardware domain's dword read of the NVMe header trapped to vPCI (full), default trace. */
    @Benchmark
    public long hwdomTrappedRead(HwdomTrapped s) {
        s.reg = (s.reg + 4) & 0x3c;
        return s.vcpu.mmioRead(HWDOM_NVME + s.reg, 4);
    }

    /** The same read direct-mapped (upstream: the ECAM window is mapped 1:1). */
    @Benchmark
    public long hwdomDirectRead(HwdomDirect s) {
        s.reg = (s.reg + 4) & 0x3c;
        return s.vcpu.mmioRead(HWDOM_NVME + s.reg, 4);
    }
}
