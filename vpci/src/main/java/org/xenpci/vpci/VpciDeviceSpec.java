package org.xenpci.vpci;

import java.util.Objects;
import org.xenpci.core.pci.Sbdf;

/**
 * What vPCI needs to know about a physical function when it is attached (the parts of
 * {@code struct pci_dev} vPCI reads).
 *
 * @param machine the physical SBDF
 * @param hardware its real config space
 * @param extendedConfig {@code pdev->ext_cfg}: the function has 4 KiB config space (PCIe)
 * @param ignoreBars {@code pdev->ignore_bars} quirk: no BAR or ROM handlers
 * @param requestedSlot xl's {@code vslot} (0..31) or -1; used only with
 *        {@code Profile.vpciGuestTopology}
 * @param checkBar the {@code pci_check_bar} hook
 */
public record VpciDeviceSpec(Sbdf machine, HardwareConfig hardware, boolean extendedConfig, boolean ignoreBars,
                             int requestedSlot, PciCheckBar checkBar) {
    public VpciDeviceSpec {
        Objects.requireNonNull(machine, "machine");
        Objects.requireNonNull(hardware, "hardware");
        Objects.requireNonNull(checkBar, "checkBar");
    }

    /** A PCIe function (extended config), no quirks, no requested slot, every BAR in a window. */
    public static VpciDeviceSpec of(Sbdf machine, HardwareConfig hardware) {
        return new VpciDeviceSpec(machine, hardware, true, false, -1, PciCheckBar.ALWAYS);
    }

    public VpciDeviceSpec withExtendedConfig(boolean v) {
        return new VpciDeviceSpec(machine, hardware, v, ignoreBars, requestedSlot, checkBar);
    }

    public VpciDeviceSpec withIgnoreBars(boolean v) {
        return new VpciDeviceSpec(machine, hardware, extendedConfig, v, requestedSlot, checkBar);
    }

    public VpciDeviceSpec withRequestedSlot(int slot) {
        return new VpciDeviceSpec(machine, hardware, extendedConfig, ignoreBars, slot, checkBar);
    }

    public VpciDeviceSpec withCheckBar(PciCheckBar c) {
        return new VpciDeviceSpec(machine, hardware, extendedConfig, ignoreBars, requestedSlot, c);
    }
}
