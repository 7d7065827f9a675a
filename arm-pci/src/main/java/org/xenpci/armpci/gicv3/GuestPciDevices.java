package org.xenpci.armpci.gicv3;

import org.xenpci.core.Domain;
import org.xenpci.core.pci.Sbdf;

/**
 * How the virtual ITS learns which physical function a guest means by a DeviceID: the guest's
 * DT gives its vPCI bridge {@code msi-map = <0 &its 0 0x10000>}, so guest DeviceID = guest
 * requester ID, and only the layer that assigns virtual SBDFs (vPCI) knows the machine SBDF
 * behind it. vPCI publishes an implementation as a Xen service; without one, guests cannot map
 * devices on their vITS.
 *
 * <p>Called from vCPU trap paths; implementations must be thread-safe and must not take the
 * pcidevs lock.
 */
public interface GuestPciDevices {
    /**
     * The machine SBDF of the device {@code d} owns at guest requester ID {@code guestRid}
     * (segment 0, {@code bus << 8 | devfn}), or null if {@code d} has none there.
     */
    Sbdf machineSbdf(Domain d, int guestRid);
}
