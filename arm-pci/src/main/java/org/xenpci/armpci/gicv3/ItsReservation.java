package org.xenpci.armpci.gicv3;

import java.util.List;
import org.xenpci.core.pci.Sbdf;

/**
 * ITS resources set aside on a host ITS for a guest's device when it was assigned (full
 * profile, guests with a vITS; see docs/msi.md, "ITS memory"): the most the device can need,
 * so the guest's MAPD of it can never fail for want of memory another domain took. A snapshot
 * from {@link ItsLayer#reservations()}.
 *
 * @param itsPath host DT path of the ITS
 * @param hostDevid host DeviceID reserved
 * @param domid the owning domain
 * @param functions the assigned functions behind that DeviceID (more than one only for
 *        functions whose requester IDs alias in {@code msi-map})
 * @param maxEvents the most EventIDs the domain may map the device with (its MSI/MSI-X vector
 *        count rounded up to a power of two, at least 32)
 * @param ittAddress machine address of the reserved ITT memory
 * @param ittBytes bytes reserved for the ITT
 * @param lpis host LPIs reserved (= {@code maxEvents})
 */
public record ItsReservation(String itsPath, int hostDevid, int domid, List<Sbdf> functions, int maxEvents,
        long ittAddress, long ittBytes, int lpis) {
    public ItsReservation {
        functions = List.copyOf(functions);
    }
}
