package org.xenpci.libxl.toolstack;

import org.xenpci.core.pci.Sbdf;

/**
 * One entry of {@code libxl_device_pci_list}: a device in the domain's PCI backend
 * ({@code dev-N}, {@code vdevfn-N}).
 *
 * @param vdevfn the guest devfn libxl recorded ({@code vslot << 3 | vfunc}); 0 when xl gave no
 *        vslot. This is the toolstack's request, not the slot vPCI chose (see the summary's
 *        {@code guestSbdf} for that).
 * @param machine the host function
 */
public record PciListEntry(int vdevfn, Sbdf machine) {
    /** The line {@code xl pci-list} prints: {@code "%02x.%01x %04x:%02x:%02x.%01x"}. */
    public String xlLine() {
        return String.format("%02x.%01x %s", vdevfn >> 3, vdevfn & 7, machine);
    }
}
