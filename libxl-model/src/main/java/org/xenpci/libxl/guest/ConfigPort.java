package org.xenpci.libxl.guest;

import static org.xenpci.core.pci.PciRegs.*;

/**
 * How a guest kernel reaches PCI config space on one host bridge: {@link EcamPort} for ECAM
 * windows, {@link DesignWarePort} for a DesignWare root complex driven directly. Accesses that
 * take a data abort read all-ones and are counted in {@link #aborts()}.
 */
public interface ConfigPort {
    /** First bus (the root bus). */
    int busStart();

    /** Last bus the port can reach. */
    int busEnd();

    /** Number of accesses that took a data abort. */
    int aborts();

    /** Reads {@code width} bytes (1, 2, 4) of function {@code bus:devfn} at {@code reg}. */
    int read(int bus, int devfn, int reg, int width);

    /** Writes {@code width} bytes (1, 2, 4) of function {@code bus:devfn} at {@code reg}. */
    void write(int bus, int devfn, int reg, int width, int value);

    /**
     * Offset of legacy capability {@code id} of function {@code bus:devfn}, walking the list the
     * way Linux's {@code pci_find_capability} does (at most 48 hops, offsets below 0x40 end it),
     * or 0 if it has none.
     */
    default int findCapability(int bus, int devfn, int id) {
        if ((read(bus, devfn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) == 0) {
            return 0;
        }
        int pos = read(bus, devfn, PCI_CAPABILITY_LIST, 1);
        for (int ttl = 48; ttl > 0 && pos >= 0x40; ttl--) {
            pos &= ~3;
            int header = read(bus, devfn, pos, 2);
            if ((header & 0xff) == 0xff) {
                return 0;
            }
            if ((header & 0xff) == id) {
                return pos;
            }
            pos = header >>> 8;
        }
        return 0;
    }
}
