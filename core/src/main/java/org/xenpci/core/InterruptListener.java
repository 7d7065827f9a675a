package org.xenpci.core;

/**
 * Told when an interrupt becomes pending on a vCPU ({@link Vcpu#inject}), for a CPU model in
 * another process that must learn of it without polling (docs/simulator-protocol.md, the
 * {@code IRQ_EVENT} message). Registered with {@link Xen#interruptListener(InterruptListener)}.
 *
 * <p>Called on the thread that made the interrupt pending (a vCPU's trap, a device signalling
 * an MSI), once per transition from not pending to pending, after the interrupt is in the
 * vCPU's pending set; possibly with Xen locks held, so it must not call back into the model.
 */
@FunctionalInterface
public interface InterruptListener {
    /** {@code intid} became pending on {@code vcpu}. */
    void pending(Vcpu vcpu, int intid);
}
