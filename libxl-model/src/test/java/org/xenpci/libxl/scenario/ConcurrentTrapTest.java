package org.xenpci.libxl.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Domain;
import org.xenpci.core.P2m;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.core.pci.PciRegs;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.libxl.host.DefaultPlatform;
import org.xenpci.libxl.host.XenHost;

/**
 * Several vCPUs trapping at once: one guest vCPU toggles memory decoding (p2m map/unmap through
 * deferred vPCI work) while the guest's other vCPU and both of dom0's vCPUs read config space,
 * and a watcher reads the guest p2m. Every reader must see whole values and whole p2m states.
 * Bounded in iterations, not time.
 */
class ConcurrentTrapTest {
    private static final long CFG = 0x10000000L;
    private static final long BAR = 0x23000000L;

    @Test
    @DisplayName("config reads, decoding toggles and p2m readers on four threads never see a torn state")
    void concurrentTraps() throws Exception {
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        long hostBar = host.platform().function(Sbdf.of(0, 2, 0)).orElseThrow().barAddress(0);
        Domain g = GuestVpciScenarioTest.guestWithNvme(host);
        GuestVpciScenarioTest.write(g, 0x10, 4, BAR);
        GuestVpciScenarioTest.write(g, 0x14, 4, 0);
        // The MSI-X table and PBA pages (BAR0 + 0x2000..0x3fff) stay trapped; the rest is mapped.
        P2m.DirectMmio expected = new P2m.DirectMmio(BAR, 0x2000, hostBar);
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        int toggles = 2000;
        int reads = 20000;
        List<Thread> threads = new ArrayList<>();
        threads.add(new Thread(() -> {
            Vcpu v = g.vcpu(0);
            await(start);
            for (int i = 0; i < toggles; i++) {
                v.mmioWrite(CFG + PciRegs.PCI_COMMAND, 2, (i & 1) == 0 ? PciRegs.PCI_COMMAND_MEMORY : 0);
                if (v.takeDataAbort() != null) {
                    problems.add("toggle aborted");
                }
            }
            v.mmioWrite(CFG + PciRegs.PCI_COMMAND, 2, PciRegs.PCI_COMMAND_MEMORY);
        }, "guest-v0"));
        threads.add(new Thread(() -> {
            Vcpu v = g.vcpu(1);
            await(start);
            for (int i = 0; i < reads; i++) {
                long id = v.mmioRead(CFG, 4);
                long bar = v.mmioRead(CFG + 0x10, 4);
                if (v.takeDataAbort() != null || id != 0x00101b36L || bar != (BAR | 4)) {
                    problems.add("guest read " + Long.toHexString(id) + " / " + Long.toHexString(bar));
                }
            }
        }, "guest-v1"));
        for (int n = 0; n < 2; n++) {
            Vcpu v = host.xen().hardwareDomain().vcpu(n);
            long nic = 0x40_1000_0000L + (1 << 15);
            threads.add(new Thread(() -> {
                await(start);
                for (int i = 0; i < reads; i++) {
                    long id = v.mmioRead(nic, 4);
                    if (v.takeDataAbort() != null || id != 0x10d38086L) {
                        problems.add("dom0 read " + Long.toHexString(id));
                    }
                }
            }, "dom0-v" + n));
        }
        threads.add(new Thread(() -> {
            await(start);
            for (int i = 0; i < reads; i++) {
                List<P2m.DirectMmio> m = g.p2m().mmioMappings();
                if (!m.isEmpty() && !m.equals(List.of(expected))) {
                    problems.add("p2m " + m);
                }
            }
        }, "p2m-watcher"));
        threads.forEach(Thread::start);
        start.countDown();
        for (Thread t : threads) {
            t.join(120_000);
            assertThat(t.isAlive()).as(t.getName() + " finished").isFalse();
        }
        assertThat(problems).isEmpty();
        assertThat(g.isCrashed()).isFalse();
        assertThat(g.p2m().mmioMappings()).containsExactly(expected);
        assertThat(GuestVpciScenarioTest.read(g, PciRegs.PCI_COMMAND, 2) & PciRegs.PCI_COMMAND_MEMORY).isNotZero();
    }

    private static void await(CountDownLatch l) {
        try {
            l.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
