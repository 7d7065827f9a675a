package org.xenpci.core;

/**
 * One hypercall's implementation (an entry of Xen's hypercall table). {@code args} are the
 * guest's argument registers x0..x4 as the HVC left them; pointers are guest-physical
 * addresses the handler copies through {@link P2m#copyFromGuest}.
 */
@FunctionalInterface
public interface HypercallHandler {
    HypercallResult handle(Vcpu caller, long[] args);
}
