package org.xenpci.libxl.dt;

import org.xenpci.core.Domain;

/**
 * Hook for the guest vPCI node's additions ({@code msi-map}, the vITS node): a service a booted
 * {@code Xen} may publish ({@code xen.publish(VpciNodeExtrasSource.class, ...)}) when it gives
 * guests a virtual ITS. The toolstack asks it for each guest it builds with {@code pci=}
 * devices, after creating the domain and before building its device tree
 * ({@code Libxl.vpciNodeExtrasFromXen}); without the service, or under a profile without
 * {@code guestVits}, the node is upstream's ({@link VpciNodeExtras#NONE}).
 */
@FunctionalInterface
public interface VpciNodeExtrasSource {
    /**
     * The additions for one guest.
     *
     * @param guest the freshly created domain (no devices assigned yet)
     * @return the extras, never null ({@link VpciNodeExtras#NONE} for none)
     */
    VpciNodeExtras extrasFor(Domain guest);
}
