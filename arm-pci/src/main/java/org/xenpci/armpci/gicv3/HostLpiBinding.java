package org.xenpci.armpci.gicv3;

/**
 * Who an allocated host LPI belongs to ({@code union host_lpi}, xen/arch/arm/gic-v3-lpi.c), from
 * {@link ItsLayer#hostLpiBinding(int)}.
 *
 * @param hostLpi the host LPI INTID (8192 or above)
 * @param domid the domain it was allocated to
 * @param vcpu the vCPU its virtual LPI goes to (0 while unbound)
 * @param vlpi the domain's virtual LPI, or 0 ({@code INVALID_LPI}) until the domain maps the
 *        event (MAPTI/MAPI) or after DISCARD: such an LPI is dropped when it fires
 */
public record HostLpiBinding(int hostLpi, int domid, int vcpu, int vlpi) {
    /** True if firing the host LPI injects a virtual LPI. */
    public boolean bound() {
        return vlpi != HostLpis.INVALID_LPI;
    }
}
