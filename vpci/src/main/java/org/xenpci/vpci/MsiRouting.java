package org.xenpci.vpci;

import org.xenpci.armpci.its.ItsEvents;
import org.xenpci.armpci.gicv3.ItsLayer;
import org.xenpci.armpci.gicv3.PhysicalMsi;
import org.xenpci.core.Domain;
import org.xenpci.core.trace.TraceCategory;

/**
 * The Arm "arch" part of vPCI MSI/MSI-X binding (what {@code vpci_msi_arch_enable} /
 * {@code vpci_msix_arch_enable_entry} would be): asks Xen's ITS layer which physical message a
 * guest's (address, data) becomes. The hardware domain's messages are already physical; a
 * guest's are routable only to its own vITS doorbell ({@link ItsLayer#physicalMessage}).
 * Without the ITS extension, a guest's messages are never routable.
 */
final class MsiRouting {
    private MsiRouting() {
    }

    /** The physical message, or null if refused (traced as {@link ItsEvents.MsiRefused}). */
    static PhysicalMsi physical(VpciDevice dev, int vector, long address, int data) {
        Domain d = dev.owner();
        ItsLayer its = d.xen().service(ItsLayer.class).orElse(null);
        PhysicalMsi p;
        if (its != null) {
            p = its.physicalMessage(d, dev.machineSbdf(), address, data).orElse(null);
        } else {
            p = dev.hardwareDomainView() ? new PhysicalMsi(address, data) : null;
        }
        if (p == null) {
            dev.warn("MSI vector " + vector + " to 0x" + Long.toHexString(address) + " data 0x" + Integer.toHexString(data)
                    + " is not the domain's vITS doorbell: not routed");
            if (d.xen().trace().enabled(TraceCategory.FAULT)) {
                d.xen().trace().emit(new ItsEvents.MsiRefused(d.domid(), dev.guestSbdf(), vector, address, data));
            }
        }
        return p;
    }
}
