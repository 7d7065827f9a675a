package org.xenpci.armpci;

/**
 * How an upper layer (vPCI) hooks the pdev lifecycle without arm-pci depending on it: the calls
 * Xen's common code makes into vPCI. Registered at boot through
 * {@link ArmPciLayer#addListener(PdevListener)}; with none registered they are no-ops returning
 * 0, as upstream Arm's {@code has_vpci() == false} path.
 *
 * <p>On add and remove, called with Xen's pcidevs lock held and then the owner's
 * {@code pciLock} held for writing, in that order (xen/drivers/passthrough/pci.c). On PHYSDEVOP_pci_device_reset
 * Xen drops the pcidevs lock once it holds the owner's lock, so there only the owner's write
 * lock is held. Implementations must not take the pcidevs lock on another thread.
 */
public interface PdevListener {

    /** {@code vpci_assign_device(pdev)}: attach emulation for the pdev's current owner. 0 or a negative errno. */
    default int vpciAssign(Pdev pdev) {
        return 0;
    }

    /** {@code vpci_deassign_device(pdev)}: detach emulation from the pdev's current owner. */
    default void vpciDeassign(Pdev pdev) {
    }

    /** The pdev was freed (removed from Xen's lists); called with the pcidevs lock held. */
    default void pdevRemoved(Pdev pdev) {
    }
}
