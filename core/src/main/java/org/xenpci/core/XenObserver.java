package org.xenpci.core;

/**
 * Something that looks at the whole system after each step a guest or the toolstack takes: an
 * isolation auditor, a coverage recorder, a simulator's checker. Registered with
 * {@link Xen#observer(XenObserver)}; at most one at a time (compose them yourself if you need
 * several).
 *
 * <p>Callbacks run on the thread that took the step, after it completed (deferred vCPU work
 * included), outside every Xen lock. With several vCPU threads they can run concurrently and see
 * other threads' steps half done: an observer that checks global invariants per step is only
 * meaningful while one thread drives the system; concurrent runs check at quiescent points
 * instead. A callback that throws propagates to the caller of the step (that is how an auditor
 * in "enforce" mode stops a test at the first violation).
 *
 * <p>With no observer registered the cost on the trap path is one volatile read.
 */
public interface XenObserver {
    /** After a guest load or store through {@code vcpu} (whatever its outcome: see {@link Vcpu#takeDataAbort()} semantics). */
    default void afterAccess(Vcpu vcpu, long gpa, int size, boolean write, long value) {
    }

    /** After hypercall {@code op} issued by {@code vcpu} returned {@code result}. */
    default void afterHypercall(Vcpu vcpu, int op, HypercallResult result) {
    }

    /**
     * Before a toolstack operation starts ({@code what} names it, e.g. {@code "xl pci-detach 1
     * 0000:00:01.0"}). The hardware domain's accesses and hypercalls until the matching
     * {@link #afterToolstack} are its steps; operations may nest (one calls another).
     */
    default void beforeToolstack(String what) {
    }

    /** After the toolstack operation {@link #beforeToolstack} announced, whether it succeeded or failed. */
    default void afterToolstack(String what) {
    }
}
