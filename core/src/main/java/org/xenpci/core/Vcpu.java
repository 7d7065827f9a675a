package org.xenpci.core;

import java.util.List;
import java.util.concurrent.ConcurrentSkipListSet;
import org.xenpci.core.trace.Events;
import org.xenpci.core.trace.TraceCategory;

/**
 * A virtual CPU: the unit that takes traps. A CPU model forwards exactly three things here:
 * MMIO loads/stores that faulted at stage 2 ({@link #mmioRead}, {@link #mmioWrite}), HVCs
 * ({@link Xen#hypercall}), and it reads the interrupts made pending on it
 * ({@link #pendingInterrupts}).
 *
 * <p>Threading: one vCPU executes on one thread at a time (as a physical CPU would); several
 * vCPUs of a domain may trap concurrently. The pending-interrupt set is thread-safe, since
 * devices on other threads make interrupts pending.
 */
public final class Vcpu {

    /** A data abort the vCPU took: the faulting access and why. */
    public record DataAbort(long gpa, int size, boolean write, String reason) {
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
    private final ConcurrentSkipListSet<Integer> pending = new ConcurrentSkipListSet<>();
    private DataAbort lastAbort;
    private PendingWork work;

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
        lastAbort = null;
    }

    void abort(long gpa, int size, boolean write, String reason) {
        lastAbort = new DataAbort(gpa, size, write, reason);
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

    /** Runs deferred work to completion; called on every exit path back to the guest. */
    public void processPendingWork() {
        while (work != null) {
            PendingWork w = work;
            if (!w.run(this) && work == w) {
                work = null;
            }
        }
    }

    /** Makes interrupt {@code intid} (an LPI, SPI, ...) pending on this vCPU. */
    public void inject(int intid) {
        pending.add(intid);
    }

    /** The interrupt IDs pending on this vCPU, ascending. */
    public List<Integer> pendingInterrupts() {
        return List.copyOf(pending);
    }

    /** Acknowledges (removes) a pending interrupt, as a guest's IAR read would; false if it was not pending. */
    public boolean acknowledge(int intid) {
        return pending.remove(intid);
    }

    @Override
    public String toString() {
        return "d" + domain.domid() + "v" + id;
    }
}
