package org.xenpci.vpci;

/**
 * A capability emulator plugin ({@code REGISTER_VPCI_CAP}/{@code REGISTER_VPCI_EXTCAP}, STYLE 13).
 * {@link Vpci} runs each registered emulator, in list order, for every capability the device
 * has (xen/drivers/vpci/cap.c: vpci_capability_hide); extended ones only for the hardware domain. MSI, MSI-X and ReBAR plug in here.
 */
public interface CapabilityEmulator {
    /** The capability ID (legacy: 8-bit; extended: 16-bit). */
    int capId();

    /** True for an extended (PCIe, offset >= 0x100) capability. */
    boolean isExtended();

    /**
     * Adds the capability's handlers ({@code dev.registers()}); find its offset with
     * {@link VpciCapabilities#findCapability}/{@link VpciCapabilities#findExtCapability}.
     *
     * @return 0 or a negative errno (the capability is then cleaned up with hide and hidden)
     */
    int init(VpciDevice dev);

    /**
     * Releases the capability's state; with {@code hide}, also removes its handlers (init
     * failed). Called on detach with {@code hide = false}.
     *
     * @return 0 or a negative errno
     */
    int cleanup(VpciDevice dev, boolean hide);

    /**
     * True if the capability currently delivers interrupts as messages (MSI/MSI-X enabled):
     * a domU COMMAND write then forces INTX_DISABLE (xen/drivers/vpci/header.c: cmd_write). Default false.
     */
    default boolean messagesEnabled(VpciDevice dev) {
        return false;
    }
}
