package org.xenpci.bench;

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
import org.xenpci.core.fdt.FdtWriter;
import org.xenpci.libxl.config.GicVersion;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.dt.GuestDtBuilder;
import org.xenpci.libxl.dt.VpciNodeExtras;

/**
 * The toolstack's guest device tree ({@code libxl__prepare_dtb}, with the full profile's vITS
 * node and msi-map) built and serialised to a DTB for a guest with 1 or 32 passed-through
 * functions. libxl describes the devices with one vPCI host bridge node whatever their number,
 * so the cost must not grow with it. {@link #rawArrayBaseline} copies a DTB-sized byte array.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class GuestDtBenchmark {
    @Param({"1", "32"})
    public int devices;

    private XlConfig config;
    private byte[] sample;

    @Setup(Level.Trial)
    public void config() {
        StringBuilder pci = new StringBuilder();
        for (int i = 0; i < devices; i++) {
            pci.append(i == 0 ? "" : ", ").append(String.format("\"0000:%02x:%02x.%d\"", 1 + i / 32, i % 32, 0));
        }
        config = XlConfigParser.parse("name = \"dt\"\nmemory = 512\nvcpus = 2\npci = [ " + pci + " ]\n", "dt.cfg");
        sample = dtb();
    }

    private byte[] dtb() {
        return FdtWriter.write(GuestDtBuilder.forConfig(config).hostGicVersion(GicVersion.V3)
                .vpciExtras(VpciNodeExtras.guestVits()).hypervisorUnitAddress(true).build());
    }

    /** Build the tree and serialise it. */
    @Benchmark
    public byte[] buildAndSerialise() {
        return dtb();
    }

    /** The floor: copying a byte array the size of the DTB. */
    @Benchmark
    public byte[] rawArrayBaseline() {
        return sample.clone();
    }
}
