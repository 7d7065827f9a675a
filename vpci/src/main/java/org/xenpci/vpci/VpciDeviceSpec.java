package org.xenpci.vpci;

import java.util.Objects;
import org.xenpci.armpci.VirtfnResources;
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
 * @param virtfn for an SR-IOV virtual function under {@code Profile.vpciGuestVirtfn}: what the
 *        PF says about it (IDs and VF BARs), which vPCI presents to a domU instead of the VF's
 *        own 0xFFFF IDs and 0 BARs, and uses for the hardware domain's BAR mappings and MSI-X
 *        (hwdom still reads the VF's own registers); null otherwise
 * @param physfn the PF's real config space when {@code virtfn} is set (a VF decodes memory by
 *        its PF's VF MSE, not its own COMMAND); null otherwise
 */
public record VpciDeviceSpec(Sbdf machine, HardwareConfig hardware, boolean extendedConfig, boolean ignoreBars,
                             int requestedSlot, PciCheckBar checkBar, VirtfnResources virtfn,
                             HardwareConfig physfn) {
    public VpciDeviceSpec {
        Objects.requireNonNull(machine, "machine");
        Objects.requireNonNull(hardware, "hardware");
        Objects.requireNonNull(checkBar, "checkBar");
        if ((virtfn == null) != (physfn == null)) {
            throw new IllegalArgumentException("a VF view needs both the VF resources and the PF's config space");
        }
    }

    /** A PCIe function (extended config), no quirks, no requested slot, every BAR in a window. */
    public static VpciDeviceSpec of(Sbdf machine, HardwareConfig hardware) {
        return new VpciDeviceSpec(machine, hardware, true, false, -1, PciCheckBar.ALWAYS, null, null);
    }

    public VpciDeviceSpec withExtendedConfig(boolean v) {
        return new VpciDeviceSpec(machine, hardware, v, ignoreBars, requestedSlot, checkBar, virtfn, physfn);
    }

    public VpciDeviceSpec withIgnoreBars(boolean v) {
        return new VpciDeviceSpec(machine, hardware, extendedConfig, v, requestedSlot, checkBar, virtfn, physfn);
    }

    public VpciDeviceSpec withRequestedSlot(int slot) {
        return new VpciDeviceSpec(machine, hardware, extendedConfig, ignoreBars, slot, checkBar, virtfn, physfn);
    }

    /**
     * This spec as the view of the virtual function {@code vf} describes, with its PF's config
     * space {@code pf} (both null: not a VF view).
     */
    public VpciDeviceSpec withVirtfn(VirtfnResources vf, HardwareConfig pf) {
        return new VpciDeviceSpec(machine, hardware, extendedConfig, ignoreBars, requestedSlot, checkBar, vf, pf);
    }

    public VpciDeviceSpec withCheckBar(PciCheckBar c) {
        return new VpciDeviceSpec(machine, hardware, extendedConfig, ignoreBars, requestedSlot, c, virtfn, physfn);
    }
}
