package org.xenpci.vpci;

import org.xenpci.core.pci.Sbdf;

/**
 * Xen's {@code pci_check_bar} (xen/arch/arm/pci/pci.c): is the host range of a BAR inside one
 * window of the device's host bridge? {@code modifyBars} skips (with a warning) every BAR for
 * which this returns false, and {@code modify_decoding} leaves its {@code enabled} flag alone.
 */
@FunctionalInterface
public interface PciCheckBar {
    /**
     * @param machine the physical SBDF of the device
     * @param startMfn first host frame of the BAR (4 KiB frames)
     * @param endMfn last host frame of the BAR, inclusive
     * @return true if the BAR may be mapped
     */
    boolean check(Sbdf machine, long startMfn, long endMfn);

    /** Every BAR is inside a window (the default until the PCI layer wires the bridge check). */
    PciCheckBar ALWAYS = (machine, start, end) -> true;
}
