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

    /** Called while a domain is being destroyed, before it is forgotten: release what it holds. */
    default void domainDestroyed(Domain domain) {
    }
}
