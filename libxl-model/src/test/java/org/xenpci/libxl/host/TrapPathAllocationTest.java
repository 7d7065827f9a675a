package org.xenpci.libxl.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.armpci.hw.PciFunction;
import org.xenpci.armpci.hw.SignalResult;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * The config-access trap path must not allocate in steady state, with the trace as
 * {@code XenHost.boot(platform, profile)} gives it ({@code Trace.standard()}) as well as with
 * every non-hot category on. Measured with the JVM's per-thread allocation counter
 * (deterministic, not a timing): after warm-up, 100 000 rounds may allocate at most a few bytes
 * in total (the counter itself is TLAB-granular).
 */
class TrapPathAllocationTest {
    private static final long ECAM = 0x40_1000_0000L;
    /** The guest's vPCI config window (guest 00:00.0 at offset 0). */
    private static final long GUEST_CFG = 0x10000000L;

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

    @Test
    @DisplayName("with the default trace, the hardware domain's trapped reads and writes allocate nothing")
    void hwdomTrapPathWithDefaultTraceDoesNotAllocate() {
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        Vcpu v = host.xen().hardwareDomain().vcpu(0);
        long nvme = ECAM + (2 << 15);
        long sum = 0;
        for (int i = 0; i < 200_000; i++) {
            sum += v.mmioRead(nvme + (i & 0x3c), 4);
            v.mmioWrite(nvme + 0x3c, 1, i & 0xff);
        }
        int events = host.xen().trace().events().size();
        long before = allocated();
        for (int i = 0; i < 100_000; i++) {
            sum += v.mmioRead(nvme + (i & 0x3c), 4);
            sum += v.mmioRead(nvme + 0x100 + (i & 0xefc), 4);
            v.mmioWrite(nvme + 0x3c, 1, i & 0xff);
        }
        long after = allocated();
        assertThat(sum).isNotZero();
        assertThat(v.takeDataAbort()).isNull();
        assertThat(after - before).as("bytes allocated by 300k trapped accesses, default trace").isLessThan(4096);
        assertThat(host.xen().trace().events()).as("the default trace records no per-access event").hasSize(events);
    }

    @Test
    @DisplayName("with the default trace, a guest's config reads and COMMAND writes allocate nothing")
    void guestTrapPathWithDefaultTraceDoesNotAllocate() {
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        XlConfig cfg = XlConfigParser.parse("name = \"alloc\"\nmemory = 256\nvcpus = 1\npci = [ \"0000:00:02.0\" ]\n",
                "alloc.cfg");
        Libxl libxl = new Libxl(host);
        libxl.makeAssignable(cfg);
        Domain guest = libxl.createDomain(cfg).domain();
        new ReferenceGuest(guest).probe();
        Vcpu v = guest.vcpu(0);
        int command = (int) v.mmioRead(GUEST_CFG + PciRegs.PCI_COMMAND, 2);
        long sum = 0;
        for (int i = 0; i < 200_000; i++) {
            sum += v.mmioRead(GUEST_CFG + (i & 0x3c), 4);
            v.mmioWrite(GUEST_CFG + PciRegs.PCI_COMMAND, 2, command);
        }
        long before = allocated();
        for (int i = 0; i < 100_000; i++) {
            sum += v.mmioRead(GUEST_CFG + (i & 0x3c), 4);
            v.mmioWrite(GUEST_CFG + PciRegs.PCI_COMMAND, 2, command);
        }
        long after = allocated();
        assertThat(sum).isNotZero();
        assertThat(v.takeDataAbort()).isNull();
        assertThat(v.mmioRead(GUEST_CFG + PciRegs.PCI_COMMAND, 2)).isEqualTo(command);
        assertThat(after - before).as("bytes allocated by 100k guest reads + COMMAND writes, default trace")
                .isLessThan(4096);
    }

    @Test
    @DisplayName("an MSI-X fire to the guest's LPI and its acknowledge allocate nothing, default trace")
    void msixFireToLpiDoesNotAllocate() {
        // The default trace: IRQ on, the per-message MSI events off (Trace.HOT_PATH).
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        assertThat(host.xen().trace().enabled(TraceCategory.IRQ)).isTrue();
        XlConfig cfg = XlConfigParser.parse("name = \"msix\"\nmemory = 256\nvcpus = 1\npci = [ \"0000:00:02.0\" ]\n",
                "msix.cfg");
        Libxl libxl = new Libxl(host);
        libxl.makeAssignable(cfg);
        Domain guest = libxl.createDomain(cfg).domain();
        new ReferenceGuest(guest).probe();
        Vcpu v = guest.vcpu(0);
        PciFunction nvme = host.platform().function(Sbdf.of(0, 2, 0)).orElseThrow();
        assertThat(nvme.signal(0)).isEqualTo(SignalResult.SENT);
        List<Integer> pending = v.pendingInterrupts();
        assertThat(pending).as("MSI-X entry 0 lands as one LPI").hasSize(1);
        int lpi = pending.get(0);
        assertThat(v.acknowledge(lpi)).isTrue();
        int delivered = 0;
        for (int i = 0; i < 200_000; i++) {
            nvme.signal(0);
            delivered += v.acknowledge(lpi) ? 1 : 0;
        }
        long before = allocated();
        for (int i = 0; i < 100_000; i++) {
            nvme.signal(0);
            delivered += v.acknowledge(lpi) ? 1 : 0;
        }
        long after = allocated();
        assertThat(delivered).as("every fire made the LPI pending").isEqualTo(300_000);
        assertThat(v.pendingInterrupts()).isEmpty();
        assertThat(after - before).as("bytes allocated by 100k MSI-X fires + acknowledges, default trace")
                .isLessThan(4096);
    }
}
