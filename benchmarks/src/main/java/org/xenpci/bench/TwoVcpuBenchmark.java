package org.xenpci.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;

/**
 * Two vCPU threads of one guest (NVMe as 00:00.0, HD Audio as 00:01.0) reading config at once:
 * {@code own} has each vCPU read its own device, {@code same} both read the NVMe; {@code single}
 * is one vCPU alone, and {@link #rawArrayRead} the floor, all in the same run. Trace as
 * {@code XenHost.boot(platform, profile)} gives it. JMH reports each group's per-operation time
 * per thread.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TwoVcpuBenchmark {
    private static final long DEV0 = TrapPathBenchmark.GUEST_CFG;
    private static final long DEV1 = TrapPathBenchmark.GUEST_CFG + (1 << 15);

    /** One guest with two vCPUs and two devices, shared by the threads of a group. */
    @State(Scope.Group)
    public static class Guest {
        Domain domain;

        @Setup(Level.Trial)
        public void boot() {
            domain = TrapPathBenchmark.guest(XenHost.boot(DefaultPlatform.build(), Profile.FULL), 2,
                    "0000:00:02.0", "0000:00:04.0");
            if (domain.vcpu(0).mmioRead(DEV1, 4) == 0xffff_ffffL) {
                throw new IllegalStateException("no guest device at 00:01.0");
            }
        }
    }

    /** Each thread's own register cursor. */
    @State(Scope.Thread)
    public static class Cursor {
        int reg;
        final int[] words = new int[16];

        int next() {
            reg = (reg + 4) & 0x3c;
            return reg;
        }
    }

    @Benchmark
    public int rawArrayRead(Cursor c) {
        c.reg = (c.reg + 1) & 15;
        return c.words[c.reg];
    }

    @Benchmark
    @Group("single")
    @GroupThreads(1)
    public long singleVcpu(Guest g, Cursor c) {
        return g.domain.vcpu(0).mmioRead(DEV0 + c.next(), 4);
    }

    @Benchmark
    @Group("own")
    @GroupThreads(1)
    public long ownVcpu0(Guest g, Cursor c) {
        return g.domain.vcpu(0).mmioRead(DEV0 + c.next(), 4);
    }

    @Benchmark
    @Group("own")
    @GroupThreads(1)
    public long ownVcpu1(Guest g, Cursor c) {
        return g.domain.vcpu(1).mmioRead(DEV1 + c.next(), 4);
    }

    @Benchmark
    @Group("same")
    @GroupThreads(1)
    public long sameVcpu0(Guest g, Cursor c) {
        return g.domain.vcpu(0).mmioRead(DEV0 + c.next(), 4);
    }

    @Benchmark
    @Group("same")
    @GroupThreads(1)
    public long sameVcpu1(Guest g, Cursor c) {
        return g.domain.vcpu(1).mmioRead(DEV0 + c.next(), 4);
    }
}
