package org.xenpci.libxl.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.EnumSet;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * The config-access trap path must not allocate in steady state. Measured with the JVM's
 * per-thread allocation counter (deterministic, not a timing): after warm-up, 100 000 trapped
 * config accesses may allocate at most a few bytes in total (the counter itself is TLAB-granular).
 */
class TrapPathAllocationTest {
    private static final long ECAM = 0x40_1000_0000L;

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    @Test
    @DisplayName("hardware-domain config reads and writes through the trapped ECAM window allocate nothing")
    void hwdomTrapPathDoesNotAllocate() {
        Trace quiet = new Trace(EnumSet.complementOf(EnumSet.of(TraceCategory.TRAP, TraceCategory.CONFIG)));
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL, quiet);
        Vcpu v = host.xen().hardwareDomain().vcpu(0);
        long nvme = ECAM + (2 << 15);
        // An empty slot and a device's absent function: no pdev, so vPCI passes them to pci_conf.
        long empty = ECAM + (10 << 15);
        long absentFn = ECAM + (2 << 15) + (3 << 12);
        long sum = 0;
        for (int i = 0; i < 200_000; i++) { // warm-up: JIT and lock hold-counter caches
            sum += v.mmioRead(nvme + (i & 0x3c), 4);
            sum += v.mmioRead(empty + (i & 0x3c), 4);
            v.mmioWrite(nvme + 0x3c, 1, i & 0xff);
            v.mmioWrite(absentFn + 0x3c, 1, i & 0xff);
        }
        long before = allocated();
        for (int i = 0; i < 100_000; i++) {
            sum += v.mmioRead(nvme + (i & 0x3c), 4);
            sum += v.mmioRead(nvme + 0x100 + (i & 0xefc), 4);
            sum += v.mmioRead(empty + (i & 0x3c), 4);
            v.mmioWrite(nvme + 0x3c, 1, i & 0xff);
            v.mmioWrite(absentFn + 0x3c, 1, i & 0xff);
        }
        long after = allocated();
        assertThat(sum).isNotZero();
        assertThat(v.takeDataAbort()).isNull();
        assertThat(after - before).as("bytes allocated by 500k trapped accesses").isLessThan(4096);
    }
}
