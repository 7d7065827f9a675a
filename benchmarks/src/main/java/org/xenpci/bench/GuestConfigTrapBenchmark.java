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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * A guest's config-access trap path (full profile): the NVMe passed through as guest 00:00.0,
 * accesses through the guest vPCI window at 0x10000000 (guest SBDF lookup, guest handlers,
 * identity registers). Run with {@code -prof gc}: 0 B/op expected.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class GuestConfigTrapBenchmark {
    private static final long CFG = 0x10000000L;

    private Vcpu vcpu;

    @Setup(Level.Trial)
    public void boot() {
        Trace quiet = new Trace(EnumSet.complementOf(EnumSet.of(TraceCategory.TRAP, TraceCategory.CONFIG)));
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL, quiet);
        XlConfig cfg = XlConfigParser.parse("name = \"bench\"\nmemory = 256\nvcpus = 1\npci = [ \"0000:00:02.0\" ]\n",
                "bench.cfg");
        Libxl libxl = new Libxl(host);
        libxl.makeAssignable(cfg);
        var guest = libxl.createDomain(cfg).domain();
        new ReferenceGuest(guest).probe();
        vcpu = guest.vcpu(0);
    }

    /** Vendor/device ID: a read-only identity handler. */
    @Benchmark
    public long readIdentity() {
        return vcpu.mmioRead(CFG, 4);
    }

    /** BAR0: the guest BAR handler (guest address + flags). */
    @Benchmark
    public long readBar() {
        return vcpu.mmioRead(CFG + 0x10, 4);
    }

    /** A gap (no handler): all-ones for a guest, never hardware. */
    @Benchmark
    public long readGap() {
        return vcpu.mmioRead(CFG + 0xc8, 4);
    }
}
