package org.xenpci.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.TraceCategory;

/**
 * A virtual CPU: the unit that takes traps. A CPU model forwards exactly three things here:
 * MMIO loads/stores that faulted at stage 2 ({@link #mmioRead}, {@link #mmioWrite}), HVCs
 * ({@link Xen#hypercall}), and it reads the interrupts made pending on it
 * ({@link #pendingInterrupts}).
 *
 * <p>Threading: one vCPU executes on one thread at a time (as a physical CPU would); several
 * vCPUs of a domain may trap concurrently. Its MMIO accesses count themselves without an atomic
 * read-modify-write, so callers that may drive one vCPU from several threads serialise them,
 * by convention on the {@code Vcpu} object (as {@link Domain#mmioRead} and xenpci serve do);
 * unserialised, two accesses can lose the count {@link Domain#pause} waits on. The pending-interrupt set is thread-safe, since
 * devices on other threads make interrupts pending.
 *
 * <p>Pause ({@link Domain#pause}): a vCPU of a paused domain is not scheduled, so its traps do
 * not run. Rather than blocking the calling thread (a CPU model forwarding traps from its own
 * thread would hang with it), an access returns at once with a data abort whose
 * {@link DataAbort#retryable()} is true (reason {@value #PAUSED}): nothing was done, and the CPU
 * model re-executes the instruction once {@link #isPaused()} turns false. A hypercall of a
 * paused vCPU likewise returns {@code -ERESTART} without running, as a Xen hypercall
 * continuation re-executes the HVC. A dying or dead domain's vCPU never runs again: its accesses
 * abort with reason {@value #DYING} (not retryable) and its hypercalls return {@code -ESRCH}.
 */
public final class Vcpu {

    /** Reason of the retryable abort a paused domain's access takes. */
    public static final String PAUSED = "domain paused";
    /** Reason of the abort every access of a dying or dead domain takes. */
    public static final String DYING = "domain dying";

    /**
     * A data abort the vCPU took: the faulting access and why.
     *
     * @param retryable true when the access did not run only because the domain is paused
     *     ({@value Vcpu#PAUSED}): re-executing it after {@link Domain#unpause()} is correct
     */
    public record DataAbort(long gpa, int size, boolean write, String reason, boolean retryable) {
        /** A fault (not retryable). */
        public DataAbort(long gpa, int size, boolean write, String reason) {
            this(gpa, size, write, reason, false);
        }
    }

    /**
     * Work a trap handler left for "before this vCPU re-enters the guest" (Xen's
     * {@code vpci_process_pending} from {@code check_for_vcpu_work}).
     */
    @FunctionalInterface
    public interface PendingWork {
        /** Runs the work; true if it must run again (preempted), false when complete. */
        boolean run(Vcpu vcpu);
    }

    private final Domain domain;
    private final int id;
    private final PendingInterrupts pending = new PendingInterrupts();
    /**
     * MMIO traps of this vCPU in progress (nesting counts): element {@link #DEPTH_AT} of this
     * array (see {@link #DEPTH_AT} for why an array), written only by the thread running the
     * vCPU (one thread at a time, see above), so entering and leaving need no atomic
     * read-modify-write. Entering is a volatile store followed by a volatile read of the pause
     * count: a Dekker handshake with {@link Domain#pause} (which raises the count, then reads this
     * word), so either the entering vCPU sees the pause or the pauser sees the vCPU inside.
     * Leaving is a release store: the pauser cannot miss it for long, since it re-reads this word
     * on a short timed wait ({@link Domain#pause}); a prompt wake-up comes from {@link #exit()}
     * when it sees the pause.
     */
    private final int[] trapDepth = new int[2 * DEPTH_AT + 1];
    /**
     * Hypercalls of this vCPU in progress (nesting counts). Atomic, since toolstack code issues
     * hypercalls for a domain's vCPU from whichever thread it runs on; same handshake as
     * {@link #trapDepth} otherwise.
     */
    private final AtomicInteger hypercallDepth = new AtomicInteger();
    /**
     * The thread of the latest entry; plain, published by the volatile store that follows it.
     * Stored only when it changes: a reference store on every trap costs a GC card-mark barrier
     * (with G1 a StoreLoad fence of its own once the vCPU is in the old generation, and a card
     * byte shared with every object near this vCPU, the other vCPUs included).
     */
    private Thread runner;
    private DataAbort lastAbort;
    /** The p2m entry this vCPU's last access found ({@link P2m#lookup(long, P2m.LastHit)}). */
    final P2m.LastHit p2mHit = new P2m.LastHit();
    private PendingWork work;

    /**
     * Where in {@link #trapDepth} the depth lives: 32 ints (128 bytes, two cache lines, the unit
     * adjacent-line prefetch moves) from either end of the array. Every trap writes the depth
     * twice, and the vCPUs of a domain are allocated together (and kept together by the GC's
     * copying), so a depth that shares a cache line with another vCPU's depth, or with the
     * domain's fields every vCPU reads, makes two vCPUs trapping at once ping-pong that line
     * between their cores (measured: 2 to 4 times the single-thread cost of a config read, in
     * whichever JVM run the layout happened to put them together). Array elements are laid
     * out in order, unlike fields, whose layout the JVM chooses, so this padding holds on any VM.
     */
    private static final int DEPTH_AT = 32;
    private static final VarHandle TRAP_DEPTH = MethodHandles.arrayElementVarHandle(int[].class);

    Vcpu(Domain domain, int id) {
        this.domain = domain;
        this.id = id;
    }

    public Domain domain() {
        return domain;
    }

    /** vCPU number within its domain. */
    public int id() {
        return id;
    }

    /**
     * A guest load of {@code size} bytes (1, 2, 4, 8) at {@code gpa}. On a data abort the value is
     * 0 and meaningless, and {@link #takeDataAbort()} returns the abort; the caller must not
     * write the destination register (Xen discards the value of a failed handler).
     */
    public long mmioRead(long gpa, int size) {
        return domain.access(this, gpa, size, false, 0);
    }

    /** A guest store of the low {@code size} bytes of {@code value} at {@code gpa}. */
    public void mmioWrite(long gpa, int size, long value) {
        domain.access(this, gpa, size, true, value);
    }

    /** The data abort taken by the last access, clearing it; null if it completed. */
    public DataAbort takeDataAbort() {
        DataAbort a = lastAbort;
        lastAbort = null;
        return a;
    }

    void clearAbort() {
        if (lastAbort != null) { // no store (and no cache-line write) on the common path
            lastAbort = null;
        }
    }

    /** True while the vCPU's domain is paused (or dying): its traps do not run. */
    public boolean isPaused() {
        return domain.isPaused();
    }

    /**
     * Marks the vCPU running an MMIO trap, unless its domain is paused: Xen's scheduler would not
     * run a paused vCPU at all. Allocation-free and without an atomic read-modify-write: a
     * volatile store of the vCPU's own trap depth, then a volatile read of the pause count.
     *
     * @return true if the caller may run the trap and must call {@link #exit()} afterwards
     */
    boolean enter() {
        if (domain.isPaused()) {
            // Not scheduled, and not marked even for a moment: a vCPU retrying while paused would
            // otherwise show as running to every pauser that samples it, which then waits again
            // (a pause held up by each retry it catches, a scheduler quantum each under load).
            return false;
        }
        Thread t = Thread.currentThread();
        if (runner != t) {
            runner = t;
        }
        TRAP_DEPTH.setVolatile(trapDepth, DEPTH_AT, (int) TRAP_DEPTH.get(trapDepth, DEPTH_AT) + 1);
        if (!domain.isPaused()) {
            return true;
        }
        exit();
        return false;
    }

    /** Leaves a trap entered with {@link #enter()}; wakes a waiting {@link Domain#pause}. */
    void exit() {
        int depth = (int) TRAP_DEPTH.get(trapDepth, DEPTH_AT) - 1;
        TRAP_DEPTH.setRelease(trapDepth, DEPTH_AT, depth);
        if (depth == 0 && domain.isPaused()) {
            domain.vcpuStopped();
        }
    }

    /** {@link #enter()} for a hypercall, which any thread may issue for this vCPU. */
    boolean enterHypercall() {
        if (domain.isPaused()) {
            return false; // as enter(): a refused attempt never shows as running
        }
        Thread t = Thread.currentThread();
        if (runner != t) {
            runner = t;
        }
        hypercallDepth.incrementAndGet();
        if (!domain.isPaused()) {
            return true;
        }
        exitHypercall();
        return false;
    }

    /** Leaves a hypercall entered with {@link #enterHypercall()}. */
    void exitHypercall() {
        if (hypercallDepth.decrementAndGet() == 0 && domain.isPaused()) {
            domain.vcpuStopped();
        }
    }

    /** True while a trap or hypercall of this vCPU is running. */
    boolean running() {
        return (int) TRAP_DEPTH.getVolatile(trapDepth, DEPTH_AT) != 0 || hypercallDepth.get() != 0;
    }

    /** True if the calling thread is inside a trap of this vCPU (a pause from there would wait for itself). */
    boolean runningOnCurrentThread() {
        return running() && runner == Thread.currentThread();
    }

    void abort(long gpa, int size, boolean write, String reason) {
        abort(gpa, size, write, reason, false);
    }

    void abort(long gpa, int size, boolean write, String reason, boolean retryable) {
        lastAbort = new DataAbort(gpa, size, write, reason, retryable);
        Xen xen = domain.xen();
        if (xen.trace().enabled(TraceCategory.FAULT)) {
            xen.trace().emit(new Events.DataAbort(domain.domid(), id, gpa, size, write, reason));
        }
    }

    /**
     * Records work to finish before the vCPU resumes the guest. Xen keeps one record per vCPU;
     * a second one replaces the first (a documented upstream caveat, header.c).
     */
    public void deferWork(PendingWork w) {
        this.work = w;
    }

    /** True while deferred work is outstanding. */
    public boolean hasPendingWork() {
        return work != null;
    }

    /**
     * Runs deferred work to completion; called on every exit path back to the guest. Work of a
     * dying or dead domain is dropped without running: it was meant for a guest that will never
     * resume, against state (p2m, vPCI) that destruction tears down.
     */
    public void processPendingWork() {
        while (work != null) {
            if (domain.isDying()) {
                work = null;
                return;
            }
            PendingWork w = work;
            if (!w.run(this) && work == w) {
                work = null;
            }
        }
    }

    /** Drops deferred work without running it (domain destruction, with the vCPU paused). */
    void dropPendingWork() {
        work = null;
    }

    /** Makes interrupt {@code intid} (an LPI, SPI, ...) pending on this vCPU. */
    public void inject(int intid) {
        if (pending.add(intid)) { // allocation-free (a bit in a bitmap)
            InterruptListener l = domain.xen().interruptListener();
            if (l != null) {
                l.pending(this, intid);
            }
        }
    }

    /** The interrupt IDs pending on this vCPU, ascending. */
    public List<Integer> pendingInterrupts() {
        return pending.snapshot();
    }

    /** Acknowledges (removes) a pending interrupt, as a guest's IAR read would; false if it was not pending. */
    public boolean acknowledge(int intid) {
        return pending.remove(intid);
    }

    /** True if interrupt {@code intid} is pending on this vCPU. Allocation-free. */
    public boolean isPending(int intid) {
        return pending.contains(intid);
    }

    @Override
    public String toString() {
        return "d" + domain.domid() + "v" + id;
    }
}
