package org.xenpci.armpci.gicv3;

/**
 * A domain's share of Xen's ITS resources over all host ITSes, from {@link ItsLayer#usage}.
 * Invariant for a guest: {@code ittBytesInUse <= ittBytesReserved} and
 * {@code lpisInUse <= lpisReserved}; the hardware domain reserves nothing and uses the shared
 * remainder.
 *
 * @param domid the domain
 * @param mappedDevices devices mapped on host ITSes (vITS MAPD accepted)
 * @param ittBytesInUse bytes of ITT memory its mapped devices occupy
 * @param ittBytesReserved bytes of ITT memory reserved for its assigned devices
 * @param lpisInUse host LPIs allocated to it
 * @param lpisReserved host LPIs reserved for it
 */
public record ItsUsage(int domid, int mappedDevices, long ittBytesInUse, long ittBytesReserved, int lpisInUse,
        int lpisReserved) {
    /** True if the domain holds nothing at all. */
    public boolean isZero() {
        return mappedDevices == 0 && ittBytesInUse == 0 && ittBytesReserved == 0 && lpisInUse == 0 && lpisReserved == 0;
    }
}
