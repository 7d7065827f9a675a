package org.xenpci.core;

/**
 * One {@code XEN_DOMCTL_*} sub-operation. The envelope (copy, interface version, target lookup,
 * the XSM domctl check) has already been done; {@code domctl} is the whole
 * {@code struct xen_domctl} (144 bytes, the union at offset 16). {@code target} is an ordinary
 * domain, dom_io (assign/deassign with DOMID_IO), or null (test_assign with DOMID_INVALID).
 */
@FunctionalInterface
public interface DomctlHandler {
    HypercallResult handle(Vcpu caller, Domain target, GuestStruct domctl);
}
