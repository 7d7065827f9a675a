package org.xenpci.libxl.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.Domain;
import org.xenpci.core.Profile;
import org.xenpci.core.Vcpu;
import org.xenpci.libxl.config.XlConfig;
import org.xenpci.libxl.config.XlConfigParser;
import org.xenpci.libxl.guest.ReferenceGuest;
import org.xenpci.libxl.toolstack.Libxl;

/**
 * Config reads take no domain-wide lock (vPCI finds the device lock-free and takes only its
 * lock): two vCPU threads reading their own devices, and both reading the same device, while
 * a third thread rewrites COMMAND through the write path, always see the devices' identity.
 */
class ConcurrentConfigReadTest {
    private static final long CFG = 0x10000000L;
    private static final long DEV1 = CFG + (1 << 15);

    @Test
    @DisplayName("two vCPUs read their own and a shared device while a third writes COMMAND: every read is the device's identity")
    void concurrentReadsSeeConsistentDevices() throws Exception {
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        XlConfig cfg = XlConfigParser.parse(
                "name = \"mt\"\nmemory = 256\nvcpus = 3\npci = [ \"0000:00:02.0\", \"0000:00:04.0\" ]\n", "mt.cfg");
        Libxl libxl = new Libxl(host);
        libxl.makeAssignable(cfg);
        Domain guest = libxl.createDomain(cfg).domain();
        new ReferenceGuest(guest).probe();
        long id0 = guest.vcpu(0).mmioRead(CFG, 4);
        long id1 = guest.vcpu(0).mmioRead(DEV1, 4);
        int command = (int) guest.vcpu(0).mmioRead(CFG + 4, 2);
        assertThat(id0).isNotEqualTo(0xffff_ffffL).isNotEqualTo(id1);
        assertThat(id1).isNotEqualTo(0xffff_ffffL);

        AtomicLong wrong = new AtomicLong();
        CountDownLatch go = new CountDownLatch(1);
        Thread r0 = reader(guest.vcpu(0), go, wrong, CFG, id0, DEV1, id1);
        Thread r1 = reader(guest.vcpu(1), go, wrong, DEV1, id1, CFG, id0);
        Thread w = new Thread(() -> {
            await(go);
            Vcpu v = guest.vcpu(2);
            for (int i = 0; i < 20_000; i++) {
                v.mmioWrite(CFG + 4, 2, command);
            }
        });
        r0.start();
        r1.start();
        w.start();
        go.countDown();
        r0.join();
        r1.join();
        w.join();
        assertThat(wrong.get()).as("reads that did not return the device's vendor/device ID").isZero();
        assertThat(guest.vcpu(0).mmioRead(CFG + 4, 2)).isEqualTo(command);
    }

    @Test
    @DisplayName("reads without the device lock racing BAR moves see the old or the new BAR, never anything else")
    void optimisticReadsRacingBarWrites() throws Exception {
        XenHost host = XenHost.boot(DefaultPlatform.build(), Profile.FULL);
        XlConfig cfg = XlConfigParser.parse(
                "name = \"mt\"\nmemory = 256\nvcpus = 3\npci = [ \"0000:00:02.0\" ]\n", "mt.cfg");
        Libxl libxl = new Libxl(host);
        libxl.makeAssignable(cfg);
        Domain guest = libxl.createDomain(cfg).domain();
        new ReferenceGuest(guest).probe();
        Vcpu writer = guest.vcpu(2);
        int command = (int) writer.mmioRead(CFG + 4, 2);
        writer.mmioWrite(CFG + 4, 2, command & ~0x2); // memory decoding off: BAR writes are taken
        long bar = writer.mmioRead(CFG + 0x10, 4);
        long a = bar;
        long b = bar + 0x100000;
        AtomicLong wrong = new AtomicLong();
        AtomicLong seenB = new AtomicLong();
        CountDownLatch go = new CountDownLatch(1);
        Thread[] readers = new Thread[2];
        for (int t = 0; t < 2; t++) {
            Vcpu v = guest.vcpu(t);
            readers[t] = new Thread(() -> {
                await(go);
                for (int i = 0; i < 100_000; i++) {
                    long got = v.mmioRead(CFG + 0x10, 4);
                    if ((got != a && got != b) || v.takeDataAbort() != null) {
                        wrong.incrementAndGet();
                    } else if (got == b) {
                        seenB.incrementAndGet();
                    }
                }
            });
            readers[t].start();
        }
        Thread w = new Thread(() -> {
            await(go);
            for (int i = 0; i < 20_000; i++) {
                writer.mmioWrite(CFG + 0x10, 4, (i & 1) == 0 ? b : a);
            }
        });
        w.start();
        go.countDown();
        for (Thread r : readers) {
            r.join();
        }
        w.join();
        assertThat(wrong.get()).as("reads that saw neither BAR value").isZero();
        assertThat(writer.mmioRead(CFG + 0x10, 4)).isEqualTo(a);
    }

    /** Reads its own device and, every 4th access, the other one (so both also share a device). */
    private static Thread reader(Vcpu v, CountDownLatch go, AtomicLong wrong, long own, long ownId, long other, long otherId) {
        return new Thread(() -> {
            await(go);
            for (int i = 0; i < 100_000; i++) {
                boolean shared = (i & 3) == 0;
                long got = v.mmioRead(shared ? other : own, 4);
                if (got != (shared ? otherId : ownId) || v.takeDataAbort() != null) {
                    wrong.incrementAndGet();
                }
            }
        });
    }

    private static void await(CountDownLatch l) {
        try {
            l.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
