package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.xenpci.core.pci.PciRegs.*;

import ch.qos.logback.classic.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.gicv3.GicV3Its;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;
import org.xenpci.libxl.audit.AuditReport;
import org.xenpci.libxl.audit.IsolationAuditor;
import org.xenpci.libxl.config.PciSpecParser;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;
import org.xenpci.libxl.toolstack.Libxl;
import org.xenpci.libxl.toolstack.LibxlException;

/**
 * Eight vCPU threads of two guests trap at once (config reads and writes, COMMAND toggles, BAR
 * moves, MSI-X control, BAR MMIO, raw vITS registers, RAM) while a toolstack thread detaches and
 * re-attaches, moves a device from one guest to the other, and destroys and re-creates them. At
 * every quiescent point (after each toolstack operation the toolstack pauses both guests with
 * {@link Domain#pause()}, so no vCPU is inside Xen) the isolation auditor must be clean. The run
 * is bounded: a deadlock fails it with every thread's stack.
 *
 * <p>Operation count: {@code -Dxenpci.concurrent.ops=N} (default {@value #DEFAULT_OPS}).
 */
@DisplayName("8 vCPU threads of two guests and a toolstack thread: no deadlock, the auditor clean at every quiescent point")
class ConcurrentIsolationTest {
    static final long DEFAULT_OPS = 1_000_000;
    static final long CFG = 0x10000000L;
    static final long MEM = 0x23000000L;
    static final long RAM = 0x40000000L;
    static final int THREADS_PER_GUEST = 4;

    final XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL, new Trace(java.util.EnumSet.of(TraceCategory.DEVICE)));
    final Libxl libxl = new Libxl(host);
    final IsolationAuditor auditor = new IsolationAuditor(host);
    final AtomicReferenceArray<Domain> guests = new AtomicReferenceArray<>(2);

    Domain create(String name, String... pci) {
        return TestGuests.createProbed(libxl, name, THREADS_PER_GUEST, pci);
    }

    Domain createA() {
        return create("a", "0000:00:02.0", "0000:00:01.0");
    }

    Domain createB() {
        return create("b", "0000:00:04.0");
    }

    @Test
    void eightVcpusAndAToolstack() throws Exception {
        ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("org.xenpci");
        Level saved = log.getLevel();
        log.setLevel(Level.ERROR); // the guests provoke every warning there is, many times over
        try {
            run(Long.getLong("xenpci.concurrent.ops", DEFAULT_OPS));
        } finally {
            log.setLevel(saved);
        }
    }

    private void run(long target) throws Exception {
        guests.set(0, createA());
        guests.set(1, createB());
        LongAdder ops = new LongAdder();
        LongAdder paused = new LongAdder();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(2 * THREADS_PER_GUEST + 1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2 * THREADS_PER_GUEST; t++) {
            int slot = t / THREADS_PER_GUEST;
            int vcpu = t % THREADS_PER_GUEST;
            long seed = 0xc0ffee00L + t;
            threads.add(new Thread(() -> {
                try {
                    Random r = new Random(seed);
                    while (!stop.get() && ops.sum() < target) {
                        Domain d = guests.get(slot);
                        Vcpu v = d.vcpu(vcpu);
                        guestOp(r, v);
                        Vcpu.DataAbort a = v.takeDataAbort();
                        if (a != null && a.retryable()) {
                            paused.increment();
                            Thread.yield();
                        } else {
                            ops.increment();
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    stop.set(true);
                } finally {
                    done.countDown();
                }
            }, "vcpu-" + slot + "." + vcpu));
        }
        List<AuditReport> audits = new ArrayList<>();
        LongAdder toolstackOps = new LongAdder();
        threads.add(new Thread(() -> {
            try {
                Random r = new Random(0x70015L);
                while (!stop.get() && ops.sum() < target) {
                    toolstackOp(r);
                    toolstackOps.increment();
                    audits.add(quiescentAudit());
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
                stop.set(true);
            } finally {
                done.countDown();
            }
        }, "toolstack"));
        threads.forEach(Thread::start);
        if (!done.await(240, TimeUnit.SECONDS)) {
            StringBuilder dump = new StringBuilder("no progress in 240 s (deadlock?) after " + ops.sum() + " operations:\n");
            for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                if (threads.contains(e.getKey())) {
                    dump.append(e.getKey().getName()).append(" ").append(e.getKey().getState()).append('\n');
                    for (StackTraceElement s : e.getValue()) {
                        dump.append("    at ").append(s).append('\n');
                    }
                }
            }
            stop.set(true);
            throw new AssertionError(dump.toString());
        }
        if (failure.get() != null) {
            throw new AssertionError("a thread failed", failure.get());
        }
        audits.add(quiescentAudit());
        System.out.println("concurrent isolation: " + ops.sum() + " guest operations, " + paused.sum()
                + " refused while paused, " + toolstackOps.sum() + " toolstack operations, " + audits.size()
                + " quiescent audits");
        assertThat(ops.sum()).isGreaterThanOrEqualTo(target);
        assertThat(toolstackOps.sum()).isPositive();
        assertThat(audits).allSatisfy(a -> assertThat(a.violations()).isEmpty());
    }

    /** Pauses both guests (no vCPU inside Xen), audits, unpauses. */
    private AuditReport quiescentAudit() {
        Domain a = guests.get(0);
        Domain b = guests.get(1);
        a.pause();
        b.pause();
        try {
            return auditor.check("quiescent point");
        } finally {
            b.unpause();
            a.unpause();
        }
    }

    private void toolstackOp(Random r) {
        Domain a = guests.get(0);
        Domain b = guests.get(1);
        switch (r.nextInt(4)) {
            case 0 -> {
                try {
                    libxl.pciDetach(a.domid(), PciSpecParser.parse("0000:00:01.0"), false);
                    libxl.pciAttach(a.domid(), PciSpecParser.parse("0000:00:01.0"));
                } catch (LibxlException e) {
                    recreateA(); // a crashed itself (it may map a BAR over its own ECAM window)
                }
            }
            case 1 -> {
                // The e1000e goes from a to b and back: each hop passes quarantine.
                try {
                    libxl.pciDetach(a.domid(), PciSpecParser.parse("0000:00:01.0"), false);
                    libxl.pciAttach(b.domid(), PciSpecParser.parse("0000:00:01.0"));
                    libxl.pciDetach(b.domid(), PciSpecParser.parse("0000:00:01.0"), false);
                    libxl.pciAttach(a.domid(), PciSpecParser.parse("0000:00:01.0"));
                } catch (LibxlException e) {
                    recreateB();
                    recreateA();
                }
            }
            case 2 -> recreateA();
            default -> recreateB();
        }
    }

    private void recreateA() {
        Domain a = guests.get(0);
        if (libxl.domain(a.domid()).isPresent()) {
            libxl.destroyDomain(a.domid());
        }
        guests.set(0, createA());
    }

    private void recreateB() {
        Domain b = guests.get(1);
        if (libxl.domain(b.domid()).isPresent()) {
            libxl.destroyDomain(b.domid());
        }
        guests.set(1, createB());
    }

    private static void guestOp(Random r, Vcpu v) {
        int k = r.nextInt(100);
        int dev = r.nextInt(3);
        long cfg = CFG + ((long) (dev << 3) << 12);
        if (k < 30) {
            v.mmioRead(cfg + (r.nextInt(0x400) & ~3), 4);
        } else if (k < 45) {
            v.mmioWrite(cfg + PCI_COMMAND, 2, (r.nextBoolean() ? PCI_COMMAND_MEMORY : 0) | (r.nextBoolean() ? PCI_COMMAND_MASTER : 0));
        } else if (k < 55) {
            v.mmioWrite(cfg + PCI_BASE_ADDRESS_0 + 4 * r.nextInt(6), 4, r.nextInt(4) == 0 ? 0xffffffffL : MEM + 0x20000L * r.nextInt(16));
        } else if (k < 62) {
            v.mmioWrite(cfg + 0x40 + r.nextInt(0x40), 1 << r.nextInt(3), r.nextInt());
        } else if (k < 82) {
            int size = 1 << r.nextInt(4);
            long at = MEM + (r.nextInt(0x200000) & -size);
            if (r.nextBoolean()) {
                v.mmioWrite(at, size, r.nextLong());
            } else {
                v.mmioRead(at, size);
            }
        } else if (k < 90) {
            v.mmioWrite(GicV3Its.GUEST_GICV3_ITS_BASE + (r.nextInt(0x20000) & ~7), 8, r.nextLong());
        } else {
            v.mmioWrite(RAM + (r.nextInt(0x10000000) & ~7), 8, r.nextLong());
        }
    }
}
