package org.xenpci.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What core's trap entry ({@code Vcpu.enter}/{@code exit}) costs in memory ordering alone, in
 * isolation, against {@link #rawArrayRead} in the same run. The entry is one half of a Dekker
 * handshake with {@code Domain.pause}: the vCPU publishes its trap depth, then reads the pause
 * count, and the pauser does the mirror image; for either side to see the other, each needs a
 * StoreLoad barrier between its store and its load (JLS 17.4: only volatile (sequentially
 * consistent) accesses give it; on x86 a locked instruction, on Arm a DMB ISH / STLR+LDAR).
 * <ul>
 *   <li>{@link #dekkerEntry}: today's entry and exit: volatile store of the depth, volatile
 *       load of the pause count, release store of the depth on exit.</li>
 *   <li>{@link #releaseEntry}: the same accesses without the StoreLoad (release store, plain
 *       load): what the entry would cost if the handshake did not need it.</li>
 *   <li>{@link #atomicEntry}: an atomic increment and decrement of the depth with a plain load
 *       of the count (what the handshake cost before the depth became single-writer).</li>
 *   <li>{@link #exchangeEntry}: the volatile store done as an atomic exchange ({@code xchg} on
 *       x86, a store and a full fence in one instruction) instead of a store and a fence.</li>
 *   <li>{@link #dekkerEntryStoringRunner}: {@link #dekkerEntry} plus the store of the current
 *       thread into a field that the entry made on every trap until now, with the state in the
 *       old generation (as a booted domain's vCPUs are): G1's post-write barrier on a
 *       cross-region reference store into an old object runs a StoreLoad fence of its own.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class TrapEntryFenceBenchmark {
    private static final VarHandle DEPTH;
    private static final VarHandle PAUSE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            DEPTH = l.findVarHandle(Cell.class, "depth", int.class);
            PAUSE = l.findVarHandle(Cell.class, "pauseCount", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One vCPU's depth and its domain's pause count (never raised here), per thread. */
    @State(Scope.Thread)
    public static class Cell {
        volatile int depth;
        volatile int pauseCount;
        Thread runner;
        final int[] words = new int[16];
        int reg;

        /** Moves the state to the old generation, where a booted domain's vCPUs live. */
        @Setup(Level.Trial)
        public void tenure() {
            System.gc();
            System.gc();
        }
    }

    @Benchmark
    public int rawArrayRead(Cell c) {
        c.reg = (c.reg + 1) & 15;
        return c.words[c.reg];
    }

    @Benchmark
    public int dekkerEntry(Cell c) {
        int d = (int) DEPTH.get(c) + 1;
        DEPTH.setVolatile(c, d);
        int paused = (int) PAUSE.getVolatile(c);
        DEPTH.setRelease(c, d - 1);
        return paused;
    }

    @Benchmark
    public int releaseEntry(Cell c) {
        int d = (int) DEPTH.get(c) + 1;
        DEPTH.setRelease(c, d);
        int paused = (int) PAUSE.getAcquire(c);
        DEPTH.setRelease(c, d - 1);
        return paused;
    }

    @Benchmark
    public int exchangeEntry(Cell c) {
        int d = (int) DEPTH.get(c) + 1;
        DEPTH.getAndSet(c, d);
        int paused = (int) PAUSE.getVolatile(c);
        DEPTH.setRelease(c, d - 1);
        return paused;
    }

    @Benchmark
    public int dekkerEntryStoringRunner(Cell c) {
        c.runner = Thread.currentThread();
        return dekkerEntry(c);
    }

    @Benchmark
    public int atomicEntry(Cell c) {
        DEPTH.getAndAdd(c, 1);
        int paused = (int) PAUSE.getAcquire(c);
        DEPTH.getAndAdd(c, -1);
        return paused;
    }
}
