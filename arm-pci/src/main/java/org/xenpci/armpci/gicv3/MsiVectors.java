package org.xenpci.armpci.gicv3;

import static org.xenpci.core.pci.PciRegs.*;

import org.xenpci.armpci.PciConf;
import org.xenpci.core.pci.Sbdf;

/**
 * How many MSI/MSI-X vectors a physical function can raise, read from its config space the way
 * Xen does ({@code pci_find_cap_offset}, {@code multi_msi_capable}, {@code msix_table_size} in
 * xen/drivers/passthrough/pci.c and xen/include/xen/pci_regs.h): the larger of the MSI
 * Multiple Message Capable count and the MSI-X Table Size. This bounds the EventIDs a guest
 * driver ever needs for the function (Linux {@code its_pci_msi_prepare} asks for exactly that
 * many, rounded up to a power of two).
 */
final class MsiVectors {
    /** {@code PCI_FIND_CAP_TTL}: the capability walk gives up after this many hops (a looping list). */
    private static final int CAP_TTL = 48;

    private MsiVectors() {
    }

    /** The function's vector count, 0 if it has neither MSI nor MSI-X. */
    static int of(PciConf conf, Sbdf sbdf) {
        int msi = 0;
        int msix = 0;
        int status = conf.read16(sbdf, PCI_STATUS);
        int pos = status == 0xffff || (status & PCI_STATUS_CAP_LIST) == 0 ? 0 : conf.read8(sbdf, PCI_CAPABILITY_LIST);
        for (int ttl = CAP_TTL; ttl > 0 && pos >= 0x40; ttl--) {
            pos &= ~3;
            int id = conf.read8(sbdf, pos);
            if (id == 0xff) {
                break;
            }
            if (id == PCI_CAP_ID_MSI) {
                // Multiple Message Capable 6 and 7 are reserved (PCI Local Bus 3.0 6.8.1.3): at most 32.
                msi = 1 << Math.min(5, (conf.read16(sbdf, pos + PCI_MSI_FLAGS) & PCI_MSI_FLAGS_QMASK) >> 1);
            } else if (id == PCI_CAP_ID_MSIX) {
                msix = (conf.read16(sbdf, pos + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1;
            }
            pos = conf.read8(sbdf, pos + PCI_CAP_LIST_NEXT);
        }
        return Math.max(msi, msix);
    }

    /**
     * The EventIDs Xen sets aside for a function with {@code vectors} vectors: rounded up to a
     * power of two and to at least one block of host LPIs (32), as {@code gicv3_its_map_guest_device}
     * rounds a MAPD.
     */
    static int events(int vectors) {
        int n = Math.max(vectors, 1);
        int pow2 = n == 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
        return Math.max(pow2, org.xenpci.armpci.its.ItsRegs.LPI_BLOCK);
    }
}
