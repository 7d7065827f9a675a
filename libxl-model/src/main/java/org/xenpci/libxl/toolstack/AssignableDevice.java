package org.xenpci.libxl.toolstack;

import java.util.Optional;
import org.xenpci.core.pci.Sbdf;

/**
 * One entry of {@code libxl_device_pci_assignable_list}: a function bound to pciback that no
 * domain owns ({@code /libxl/pci/<bdf>/domid} absent), with its assignable-device name.
 *
 * @param sbdf the machine address
 * @param name the name given to {@code pci-assignable-add -n}, if any
 */
public record AssignableDevice(Sbdf sbdf, Optional<String> name) {
    /** The line {@code xl pci-assignable-list} prints: {@code "%04x:%02x:%02x.%01x %s"}; the name only with {@code showNames}. */
    public String xlLine(boolean showNames) {
        return sbdf + " " + (showNames ? name.orElse("") : "");
    }
}
