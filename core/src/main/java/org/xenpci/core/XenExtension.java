package org.xenpci.core;

import org.xenpci.core.fdt.Fdt;

/**
 * A subsystem that plugs into {@link Xen}'s boot and domain lifecycle: how upper modules (the
 * Arm PCI layer, vPCI, the ITS) hook in without core depending on them. Called in registration
 * order; a hook that throws fails the boot (or the domain operation) with that exception.
 */
public interface XenExtension {

    /** Boot-time initialisation (an initcall), after the command line is parsed and before dom0 exists. */
    default void init(Xen xen) {
    }

    /** Lets the extension adjust the hardware domain's device tree (e.g. add {@code linux,pci-domain}). */
    default Fdt hardwareDomainDeviceTree(Xen xen, Fdt dt) {
        return dt;
    }

    /** Called once a domain exists (the hardware domain included), to map or trap what it needs. */
    default void domainCreated(Domain domain) {
    }

    /**
     * First phase of destruction ({@code domain_relinquish_resources}), called for every
     * extension in registration order while the domain is dying and every extension's state
     * still exists: give back what the domain holds (e.g. assigned devices, which calls back into
     * higher layers such as vPCI).
     */
    default void domainRelinquishResources(Domain domain) {
    }

    /**
     * Second phase ({@code domain_destroy}), in reverse registration order once every extension
     * has relinquished: free the extension's own per-domain state (trap handlers, bookkeeping).
     */
    default void domainDestroyed(Domain domain) {
    }
}
