package org.xenpci.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.xenpci.core.trace.Trace;
import org.xenpci.core.trace.TraceCategory;

/** Xen's domain_pause / domain_unpause and domain_kill: what a paused or dying domain's vCPUs see. */
class DomainPauseTest {
    private static final long TRAP = 0x10000000L;
    private static final int HYPERCALL_PROBE = 40;

    private Xen xen;
    private Domain guest;
    /** Accesses currently inside the trap handler, and every one that ever ran. */
    private final AtomicInteger inside = new AtomicInteger();
    private final AtomicLong handled = new AtomicLong();
    private final AtomicLong hypercallsRun = new AtomicLong();

    @BeforeEach
    void boot() {
        xen = Xen.builder().hardware(TestHardware.hardware())
                .trace(new Trace(EnumSet.noneOf(TraceCategory.class))).build();
        xen.registerHypercall(HYPERCALL_PROBE, (vcpu, args) -> {
            hypercallsRun.incrementAndGet();
            return HypercallResult.ok(7);
        });
        guest = xen.createDomain(DomainConfig.guest("g", 4));
        guest.p2m().addTrap(TRAP, 0x1000, new CountingHandler());
    }

    /** Counts the accesses inside it; a read lingers a little so that pauses catch some in flight. */
    private final class CountingHandler implements MmioHandler {
        @Override
        public String name() {
            return "counting";
        }

        @Override
        public long read(Vcpu vcpu, long gpa, int size) {
            inside.incrementAndGet();
            try {
                handled.incrementAndGet();
                for (int i = 0; i < 200; i++) {
                    Thread.onSpinWait();
                }
                return 0x5a;
            } finally {
                inside.decrementAndGet();
            }
        }

        @Override
        public void write(Vcpu vcpu, long gpa, int size, long value) {
            handled.incrementAndGet();
        }
    }

    @Test
    @DisplayName("a paused domain's access does not run and takes a retryable 'domain paused' abort; unpause resumes it")
    void pausedAccessIsRetryable() {
        Vcpu v = guest.vcpu(1);
        guest.pause();
        assertThat(v.isPaused()).isTrue();
        assertThat(v.mmioRead(TRAP, 4)).isZero();
        assertThat(v.takeDataAbort()).isEqualTo(new Vcpu.DataAbort(TRAP, 4, false, Vcpu.PAUSED, true));
        v.mmioWrite(TRAP, 4, 1);
        assertThat(v.takeDataAbort().retryable()).isTrue();
        assertThat(handled).hasValue(0);

        guest.unpause();
        assertThat(v.isPaused()).isFalse();
        assertThat(v.mmioRead(TRAP, 4)).isEqualTo(0x5a);
        assertThat(v.takeDataAbort()).isNull();
        assertThat(handled).hasValue(1);
    }

    @Test
    @DisplayName("pauses nest: the domain runs again only after as many unpauses, and an extra unpause is refused")
    void pausesNest() {
        guest.pause();
        guest.pause();
        assertThat(guest.pauseCount()).isEqualTo(2);
        guest.unpause();
        assertThat(guest.mmioRead(TRAP, 4)).isEmpty();
        guest.unpause();
        assertThat(guest.mmioRead(TRAP, 4)).hasValue(0x5a);
        assertThatThrownBy(guest::unpause).isInstanceOf(IllegalStateException.class).hasMessageContaining("not paused");
        assertThat(guest.pauseCount()).isZero();
    }

    @Test
    @DisplayName("a paused domain's hypercall does not run and returns -ERESTART; a dying domain's returns -ESRCH")
    void hypercallsOfStoppedDomains() {
        Vcpu v = guest.vcpu(0);
        assertThat(xen.hypercall(v, HYPERCALL_PROBE).rc()).isEqualTo(7);
        guest.pause();
        assertThat(xen.hypercall(v, HYPERCALL_PROBE).errno()).isEqualTo(Errno.ERESTART);
        guest.unpause();
        xen.destroyDomain(guest);
        assertThat(xen.hypercall(v, HYPERCALL_PROBE).errno()).isEqualTo(Errno.ESRCH);
        assertThat(hypercallsRun).hasValue(1);
    }

    @Test
    @DisplayName("after destruction every access aborts with 'domain dying', not retryable, even after an unpause")
    void destroyedDomainAborts() {
        guest.pause();
        xen.destroyDomain(guest);
        guest.unpause(); // the caller's own pause; destruction holds another for good
        assertThat(guest.isPaused()).isTrue();
        Vcpu v = guest.vcpu(2);
        v.mmioRead(TRAP, 4);
        assertThat(v.takeDataAbort()).isEqualTo(new Vcpu.DataAbort(TRAP, 4, false, Vcpu.DYING, false));
        assertThat(handled).hasValue(0);
        xen.destroyDomain(guest); // a second destroy is a no-op
        assertThat(guest.state()).isEqualTo(Domain.State.DEAD);
    }

    @Test
    @DisplayName("pause waits for an access in flight to return, and returns once it has")
    void pauseWaitsForInFlightAccess() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        guest.p2m().addTrap(TRAP + 0x1000, 0x1000, new MmioHandler() {
            @Override
            public String name() {
                return "blocking";
            }

            @Override
            public long read(Vcpu vcpu, long gpa, int size) {
                entered.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 1;
            }

            @Override
            public void write(Vcpu vcpu, long gpa, int size, long value) {
            }
        });
        Thread vcpuThread = new Thread(() -> guest.vcpu(3).mmioRead(TRAP + 0x1000, 4), "d1v3");
        vcpuThread.start();
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        CountDownLatch paused = new CountDownLatch(1);
        Thread pauser = new Thread(() -> {
            guest.pause();
            paused.countDown();
        }, "pauser");
        pauser.start();
        assertThat(paused.await(200, TimeUnit.MILLISECONDS)).as("pause returned with d1v3 inside a trap").isFalse();
        release.countDown();
        assertThat(paused.await(10, TimeUnit.SECONDS)).isTrue();
        vcpuThread.join(10_000);
        pauser.join(10_000);
        assertThat(guest.isPaused()).isTrue();
    }

    @Test
    @DisplayName("a vCPU cannot pause (or destroy) its own domain from inside a trap; the count is unchanged")
    void pauseFromOwnTrapIsRefused() {
        List<Throwable> thrown = new ArrayList<>();
        guest.p2m().addTrap(TRAP + 0x1000, 0x1000, new MmioHandler() {
            @Override
            public String name() {
                return "self-pause";
            }

            @Override
            public long read(Vcpu vcpu, long gpa, int size) {
                try {
                    vcpu.domain().pause();
                } catch (IllegalStateException e) {
                    thrown.add(e);
                }
                return 0;
            }

            @Override
            public void write(Vcpu vcpu, long gpa, int size, long value) {
                try {
                    vcpu.domain().xen().destroyDomain(vcpu.domain());
                } catch (IllegalStateException e) {
                    thrown.add(e);
                }
            }
        });
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> guest.mmioRead(TRAP + 0x1000, 4));
        assertThat(thrown).singleElement().satisfies(e -> assertThat(e).hasMessageContaining("d1v0"));
        assertThat(guest.isPaused()).isFalse();
        // Destroying it from its own trap is refused before anything changed ...
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> guest.mmioWrite(TRAP + 0x1000, 4, 0));
        assertThat(thrown).hasSize(2).last().satisfies(e -> assertThat(e).hasMessageContaining("cannot destroy"));
        assertThat(guest.state()).isEqualTo(Domain.State.RUNNING);
        // ... so a later destroy from outside still works.
        guest.xen().destroyDomain(guest);
        assertThat(guest.state()).isEqualTo(Domain.State.DEAD);
    }

    @Test
    @DisplayName("a vCPU handed to another thread: the own-trap refusal follows the thread running it now")
    void ownTrapRefusalFollowsTheThreadRunningTheVcpu() throws Exception {
        // The vCPU records the thread of its latest entry only when it changes (a store per trap
        // would cost a GC barrier): a stale record would refuse a pause from the old thread.
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        List<Throwable> insideRefusals = new ArrayList<>();
        guest.p2m().addTrap(TRAP + 0x1000, 0x1000, new MmioHandler() {
            @Override
            public String name() {
                return "handover";
            }

            @Override
            public long read(Vcpu vcpu, long gpa, int size) {
                try {
                    vcpu.domain().pause();
                } catch (IllegalStateException e) {
                    insideRefusals.add(e);
                }
                entered.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return 1;
            }

            @Override
            public void write(Vcpu vcpu, long gpa, int size, long value) {
            }
        });
        Vcpu v = guest.vcpu(2);
        for (int i = 0; i < 3; i++) {
            v.mmioRead(TRAP, 4); // this thread ran d1v2 last ...
        }
        Thread other = new Thread(() -> v.mmioRead(TRAP + 0x1000, 4), "d1v2 elsewhere");
        other.setDaemon(true); // a pause it was not refused would wait for itself forever
        other.start(); // ... and now another one runs it
        assertThat(entered.await(10, TimeUnit.SECONDS)).as("the thread inside was refused, not left waiting for itself").isTrue();
        assertThat(insideRefusals).singleElement().satisfies(e -> assertThat(e).hasMessageContaining("d1v2"));
        AtomicBoolean released = new AtomicBoolean();
        Thread releaser = new Thread(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            released.set(true);
            release.countDown();
        }, "releaser");
        releaser.start();
        // The former runner (this thread) is not inside a trap: its pause is not refused, and
        // waits for the other thread's trap to end.
        guest.pause();
        assertThat(released).as("pause returned with d1v2 inside a trap").isTrue();
        other.join(10_000);
        releaser.join(10_000);
        guest.unpause();
        v.mmioRead(TRAP, 4);
        assertThat(v.takeDataAbort()).isNull();
        assertThat(guest.isPaused()).isFalse();
    }

    @Test
    @DisplayName("deferred work left on a vCPU of a destroyed domain is dropped, never run")
    void deferredWorkOfDestroyedDomainIsDropped() {
        Vcpu v = guest.vcpu(0);
        AtomicInteger ran = new AtomicInteger();
        v.deferWork(x -> {
            ran.incrementAndGet();
            return false;
        });
        xen.destroyDomain(guest);
        assertThat(v.hasPendingWork()).isFalse();
        v.deferWork(x -> {
            ran.incrementAndGet();
            return false;
        });
        v.processPendingWork(); // a dying domain's work never runs
        assertThat(v.hasPendingWork()).isFalse();
        assertThat(ran).hasValue(0);
    }

    @Test
    @DisplayName("with four vCPU threads trapping, no access is in flight after pause returns, and after destroy all abort")
    void pauseUnpauseDestroyUnderLoad() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            int threads = 4;
            AtomicBoolean stop = new AtomicBoolean();
            AtomicBoolean destroyed = new AtomicBoolean();
            AtomicLong retryable = new AtomicLong();
            AtomicLong dyingAborts = new AtomicLong();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            CountDownLatch started = new CountDownLatch(threads);
            List<Thread> vcpuThreads = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Vcpu v = guest.vcpu(t);
                Thread th = new Thread(() -> {
                    started.countDown();
                    while (!stop.get()) {
                        boolean afterDestroy = destroyed.get();
                        long value = v.mmioRead(TRAP + (v.id() << 2), 4);
                        Vcpu.DataAbort a = v.takeDataAbort();
                        if (a == null) {
                            if (afterDestroy || value != 0x5a) {
                                failures.add(v + " completed an access after destroy or read " + value);
                            }
                        } else if (a.retryable()) {
                            retryable.incrementAndGet();
                            if (afterDestroy) {
                                failures.add(v + " took a retryable abort after destroy: " + a);
                            }
                        } else if (a.reason().equals(Vcpu.DYING)) {
                            dyingAborts.incrementAndGet();
                        } else {
                            failures.add(v + " unexpected abort " + a);
                        }
                        HypercallResult r = xen.hypercall(v, HYPERCALL_PROBE);
                        if (afterDestroy && r.errno() != Errno.ESRCH) {
                            failures.add(v + " hypercall after destroy returned " + r);
                        }
                    }
                }, "d1v" + t);
                vcpuThreads.add(th);
                th.start();
            }
            started.await();
            for (int round = 0; round < 300; round++) {
                long before = handled.get();
                guest.pause();
                if (inside.get() != 0) {
                    failures.add("round " + round + ": " + inside.get() + " accesses in flight after pause returned");
                }
                long frozen = handled.get();
                for (int i = 0; i < 2000; i++) {
                    Thread.onSpinWait();
                }
                if (handled.get() != frozen || inside.get() != 0) {
                    failures.add("round " + round + ": an access ran while paused");
                }
                guest.unpause();
                // Let the vCPUs make progress before the next pause.
                while (handled.get() < before + threads && round % 10 != 9) {
                    Thread.onSpinWait();
                }
            }
            xen.destroyDomain(guest);
            assertThat(inside).as("accesses in flight after destroy returned").hasValue(0);
            long frozen = handled.get();
            destroyed.set(true);
            while (dyingAborts.get() < 1000) {
                Thread.onSpinWait();
            }
            stop.set(true);
            for (Thread th : vcpuThreads) {
                th.join(10_000);
                assertThat(th.isAlive()).isFalse();
            }
            assertThat(failures).isEmpty();
            assertThat(handled).as("no access ran after destroy").hasValue(frozen);
            assertThat(frozen).as("vCPUs made progress between pauses").isGreaterThan(300);
            assertThat(retryable.get()).as("some traps met a pause").isPositive();
        });
    }

    @Test
    @DisplayName("pause never misses a trap that leaves as it starts: vCPUs leave without a fence, pause still returns, with none inside")
    void pauseRacingTrapExits() {
        // Short traps (writes: no lingering) so that many exits land inside pause's window
        // between raising the count and reading each vCPU's trap depth.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger inWrite = new AtomicInteger();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            guest.p2m().addTrap(TRAP + 0x2000, 0x1000, new MmioHandler() {
                @Override
                public String name() {
                    return "short";
                }

                @Override
                public long read(Vcpu vcpu, long gpa, int size) {
                    return 0;
                }

                @Override
                public void write(Vcpu vcpu, long gpa, int size, long value) {
                    inWrite.incrementAndGet();
                    handled.incrementAndGet();
                    inWrite.decrementAndGet();
                }
            });
            List<Thread> vcpuThreads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Vcpu v = guest.vcpu(t);
                Thread th = new Thread(() -> {
                    while (!stop.get()) {
                        v.mmioWrite(TRAP + 0x2000, 4, 1);
                        v.takeDataAbort();
                    }
                }, "d1v" + t);
                vcpuThreads.add(th);
                th.start();
            }
            for (int round = 0; round < 5000; round++) {
                guest.pause();
                if (inWrite.get() != 0) {
                    failures.add("round " + round + ": a trap was inside after pause returned");
                }
                long frozen = handled.get();
                Thread.onSpinWait();
                if (handled.get() != frozen) {
                    failures.add("round " + round + ": a trap ran while paused");
                }
                guest.unpause();
            }
            stop.set(true);
            for (Thread th : vcpuThreads) {
                th.join(10_000);
            }
            assertThat(failures).isEmpty();
            assertThat(handled.get()).as("the vCPUs made progress").isPositive();
        });
    }

    @Test
    @DisplayName("a paused domain's vCPU retrying its access never shows as running, so it cannot hold up another pause")
    void pausedRetriesAreInvisibleToPausers() {
        // A pauser waits while any vCPU is marked inside a trap. A vCPU that retries while the
        // domain is paused must not mark itself at all (Xen does not schedule it); marking then
        // unmarking leaves a window in which a pauser sees it running and waits again, so
        // under load a pause could wait a scheduler quantum per retry it happens to catch.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            Vcpu v = guest.vcpu(0);
            Vcpu h = guest.vcpu(1);
            guest.pause();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong retries = new AtomicLong();
            Thread retrier = new Thread(() -> {
                while (!stop.get()) {
                    v.mmioWrite(TRAP + 0x2000, 4, 1);
                    v.takeDataAbort();
                    h.enterHypercall(); // a hypercall attempt refused the same way
                    retries.incrementAndGet();
                }
            }, "d1v0-retrying");
            retrier.start();
            long seen = 0;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
            while (System.nanoTime() < deadline || retries.get() < 1000) {
                if (v.running() || h.running()) {
                    seen++;
                }
            }
            stop.set(true);
            retrier.join(10_000);
            guest.unpause();
            assertThat(seen).as("samples that saw a paused vCPU marked running").isZero();
            assertThat(handled.get()).isZero();
        });
    }

    @Test
    @DisplayName("hypercalls issued for one vCPU from two threads at once: pause waits for both")
    void pauseWaitsForHypercallsOfOneVcpuFromTwoThreads() throws Exception {
        CountDownLatch entered = new CountDownLatch(2);
        CountDownLatch release = new CountDownLatch(1);
        int blocking = HYPERCALL_PROBE + 1;
        xen.registerHypercall(blocking, (vcpu, args) -> {
            entered.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return HypercallResult.ok(0);
        });
        Vcpu v = guest.vcpu(0);
        Thread a = new Thread(() -> xen.hypercall(v, blocking), "toolstack-a");
        Thread b = new Thread(() -> xen.hypercall(v, blocking), "toolstack-b");
        a.start();
        b.start();
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        CountDownLatch paused = new CountDownLatch(1);
        Thread pauser = new Thread(() -> {
            guest.pause();
            paused.countDown();
        }, "pauser");
        pauser.start();
        assertThat(paused.await(200, TimeUnit.MILLISECONDS)).as("pause returned with two hypercalls inside").isFalse();
        release.countDown();
        assertThat(paused.await(10, TimeUnit.SECONDS)).isTrue();
        a.join(10_000);
        b.join(10_000);
        pauser.join(10_000);
        assertThat(v.running()).isFalse();
    }

    @Test
    @DisplayName("Domain.mmioRead from two threads: each gets its own access's abort, and the domain still pauses")
    void convenienceAccessesFromTwoThreadsKeepVcpuZeroConsistent() throws Exception {
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        Thread[] ts = new Thread[2];
        for (int k = 0; k < 2; k++) {
            boolean mapped = k == 0; // thread 1 reads an unmapped address and takes aborts
            ts[k] = new Thread(() -> {
                try {
                    go.await();
                    for (int i = 0; i < 500_000 && wrong.isEmpty(); i++) {
                        boolean done = guest.mmioRead(mapped ? TRAP : 0x7000_0000_0000L, 4).isPresent();
                        if (done != mapped) {
                            wrong.add((mapped ? "mapped" : "unmapped") + " read step " + i + " completed " + done);
                        }
                    }
                } catch (InterruptedException e) {
                    wrong.add(e.toString());
                }
            });
            ts[k].start();
        }
        go.countDown();
        for (Thread t : ts) {
            t.join(60_000);
        }
        assertThat(wrong).isEmpty();
        Thread pauser = new Thread(guest::pause);
        pauser.setDaemon(true); // a lost trap count would keep it waiting forever
        pauser.start();
        pauser.join(10_000);
        assertThat(pauser.isAlive()).as("pause returned").isFalse();
        guest.unpause();
    }
}
