package org.xenpci.bench;

import java.util.EnumSet;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;

/**
 * The config-access trap path of the hardware domain on the default platform: a 4-byte config
 * read of the NVMe controller's header through its ECAM window. {@code full}: trapped to vPCI
 * (handler lookup, register merge, hardware gap); {@code upstream}: direct-mapped, straight to
 * the host bridge model. Run with {@code -prof gc} to see {@code gc.alloc.rate.norm} (0 B/op
 * expected in steady state).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ConfigTrapBenchmark {
    private static final long NVME = 0x40_1000_0000L + (2 << 15);

    @Param({"full", "upstream"})
    public String profile;

    private Vcpu vcpu;
    private int reg;

    @Setup(Level.Trial)
    public void boot() {
        Trace quiet = new Trace(EnumSet.complementOf(EnumSet.of(TraceCategory.TRAP, TraceCategory.CONFIG)));
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.named(profile), quiet);
        vcpu = host.xen().hardwareDomain().vcpu(0);
    }

    @Benchmark
    public long readHeaderDword() {
        reg = (reg + 4) & 0x3c;
        return vcpu.mmioRead(NVME + reg, 4);
    }

    @Benchmark
    public long readCommandWord() {
        return vcpu.mmioRead(NVME + 4, 2);
    }

    @Benchmark
    public void writeInterruptLine() {
        vcpu.mmioWrite(NVME + 0x3c, 1, 0x20);
    }
}
