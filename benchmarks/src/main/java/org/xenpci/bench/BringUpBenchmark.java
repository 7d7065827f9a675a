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
import org.xenpci.armpci.platform.Platform;
import org.xenpci.core.Profile;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.fixtures.LargeBus;
import org.xenpci.libxl.host.XenHost;

/**
 * Bring-up of a generated board ({@link LargeBus}): Xen boots (full profile, trace off), dom0
 * enumerates every function (probe, BAR assignment, decoding on) and reports each with
 * PHYSDEVOP_pci_device_add (pdev, IOMMU, vPCI header and capabilities, p2m mappings). One boot
 * per invocation (SingleShotTime); the board is built outside the measurement. Divide by
 * {@code LargeBus.functions(endpoints)} for the cost per function.
 *
 * <p>{@link #rawArrayBaseline} is the floor in the same run: writing then reading one 64-dword
 * header per function in a plain {@code int[]} (what storing the functions costs, nothing else).
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar BringUpBenchmark -prof gc
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = "-Xmx8g")
public class BringUpBenchmark {
    /** Endpoints on the board (plus one bridge per 256). */
    @Param({"1024", "8192", "65280"})
    public int endpoints;

    /** PLAIN (one 4 KiB BAR) or MSIX (16 KiB prefetchable BAR with a 16-entry MSI-X table). */
    @Param({"PLAIN", "MSIX"})
    public String kind;

    private Platform platform;

    @Setup(Level.Invocation)
    public void board() {
        platform = LargeBus.build(endpoints, LargeBus.Endpoint.valueOf(kind));
    }

    /** Boot plus dom0 enumeration of every function. */
    @Benchmark
    public XenHost boot() {
        XenHost h = XenHost.boot(platform, Profile.FULL, new Trace(EnumSet.noneOf(TraceCategory.class)));
        platform = null; // one boot per board
        return h;
    }

    /** The raw-array floor: one 64-dword header per function written and read back. */
    @Benchmark
    public long rawArrayBaseline() {
        int n = LargeBus.functions(endpoints);
        int[] headers = new int[n * 64];
        for (int i = 0; i < headers.length; i++) {
            headers[i] = i * 0x9E3779B9;
        }
        long sum = 0;
        for (int v : headers) {
            sum += v;
        }
        return sum;
    }
}
