package org.xenpci.armpci.gicv3;

/**
 * Where Xen delivers one event of a guest's device: the virtual LPI the guest bound it to with
 * MAPTI/MAPI on its vITS and the vCPU its collection targets (MAPC), as Xen recorded them for the
 * event's host LPI ({@code union host_lpi} in xen/arch/arm/gic-v3-lpi.c).
 *
 * @param vlpi the guest's LPI INTID (8192 or above)
 * @param vcpu the target vCPU number
 */
public record GuestLpi(int vlpi, int vcpu) {
}
