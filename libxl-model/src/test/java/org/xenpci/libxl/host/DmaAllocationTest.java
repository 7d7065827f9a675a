package org.xenpci.libxl.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.EnumSet;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.DmaResult;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.core.Profile;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/**
 * A successful DMA (requester ID, iommu-map, SMMU stage 2 with its TLB, RAM) allocates nothing
 * in steady state: writes and bulk reads, measured with the JVM's per-thread counter.
 */
class DmaAllocationTest {
    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getThreadAllocatedBytes(Thread.currentThread().getId());
    }

    @Test
    @DisplayName("a hardware-domain device's DMA writes and bulk reads through the SMMU allocate nothing")
    void dmaDoesNotAllocate() {
        Trace quiet = new Trace(EnumSet.complementOf(EnumSet.of(TraceCategory.TRAP, TraceCategory.CONFIG)));
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL, quiet);
        PciFunction hda = host.platform().function(Sbdf.of(0, 4, 0)).orElseThrow();
        hda.config().write(PciRegs.PCI_COMMAND, 2, hda.config().read(PciRegs.PCI_COMMAND, 2) | PciRegs.PCI_COMMAND_MASTER);
        // Within the first 512 KiB of the bank: SparseMemory boxes its page index (a Long key),
        // which only the Long cache makes free; beyond page 127 every RAM byte access allocates,
        // for vCPUs and devices alike (core's SparseMemory, not this path).
        long ram = 0x4001_0000L;
        byte[] buf = new byte[64];
        int ok = 0;
        for (int i = 0; i < 200_000; i++) { // warm-up: JIT, sparse memory pages, the stream's TLB
            ok += hda.dmaWrite(ram + (i & 0xff8), 8, i) == DmaResult.DONE ? 1 : 0;
            ok += hda.dmaRead(ram + (i & 0xfc0), buf) == DmaResult.DONE ? 1 : 0;
        }
        long before = allocated();
        for (int i = 0; i < 100_000; i++) {
            ok += hda.dmaWrite(ram + (i & 0xff8), 8, i) == DmaResult.DONE ? 1 : 0;
            ok += hda.dmaWrite(ram + 0x1000 + (i & 0xffc), 4, i) == DmaResult.DONE ? 1 : 0;
            ok += hda.dmaRead(ram + (i & 0xfc0), buf) == DmaResult.DONE ? 1 : 0;
        }
        long after = allocated();
        assertThat(ok).isEqualTo(700_000);
        // The last i with (i & 0xff8) == 0xff8 is 0x17fff.
        assertThat(host.platform().hardware().addressSpace().read(ram + 0xff8, 8)).isEqualTo(0x17fffL);
        assertThat(after - before).as("bytes allocated by 300k successful DMAs").isLessThan(16_384); // 24 bytes per DMA would be 7 MB
    }
}
