package org.xenpci.armpci;

/**
 * PHYSDEVOP numbers, flags and argument layouts for PCI (xen/include/public/physdev.h, spec
 * 2.2). Layouts are little-endian byte offsets within the structure the guest passes by GPA.
 *
 * <pre>
 *  physdev_pci_device_add (fixed part 12 bytes; optarr[] follows, ignored on Arm):
 *   +0 u16 seg | +2 u8 bus | +3 u8 devfn | +4 u32 flags | +8 u8 physfn.bus | +9 u8 physfn.devfn | +10 pad[2]
 *  physdev_pci_device (4 bytes):       +0 u16 seg | +2 u8 bus | +3 u8 devfn
 *  pci_device_reset (8 bytes):         +0 physdev_pci_device dev | +4 u32 flags
 * </pre>
 */
public final class Physdev {
    private Physdev() {
    }

    /** PHYSDEVOP_manage_pci_add (x86 only; -ENOSYS on Arm). */
    public static final int MANAGE_PCI_ADD = 15;
    /** PHYSDEVOP_manage_pci_remove (x86 only). */
    public static final int MANAGE_PCI_REMOVE = 16;
    /** PHYSDEVOP_restore_msi. */
    public static final int RESTORE_MSI = 19;
    /** PHYSDEVOP_manage_pci_add_ext (x86 only). */
    public static final int MANAGE_PCI_ADD_EXT = 20;
    /** PHYSDEVOP_pci_mmcfg_reserved. */
    public static final int PCI_MMCFG_RESERVED = 24;
    /** PHYSDEVOP_pci_device_add. */
    public static final int PCI_DEVICE_ADD = 25;
    /** PHYSDEVOP_pci_device_remove. */
    public static final int PCI_DEVICE_REMOVE = 26;
    /** PHYSDEVOP_restore_msi_ext. */
    public static final int RESTORE_MSI_EXT = 27;
    /** PHYSDEVOP_prepare_msix. */
    public static final int PREPARE_MSIX = 30;
    /** PHYSDEVOP_release_msix. */
    public static final int RELEASE_MSIX = 31;
    /** PHYSDEVOP_pci_device_reset. */
    public static final int PCI_DEVICE_RESET = 32;

    /** XEN_PCI_DEV_EXTFN: an ARI extended function. */
    public static final int XEN_PCI_DEV_EXTFN = 0x1;
    /** XEN_PCI_DEV_VIRTFN: an SR-IOV VF; physfn is valid. */
    public static final int XEN_PCI_DEV_VIRTFN = 0x2;
    /** XEN_PCI_DEV_PXM: optarr[0] is a proximity domain (ignored on Arm: no NUMA). */
    public static final int XEN_PCI_DEV_PXM = 0x4;

    /** PCI_DEVICE_RESET_COLD. */
    public static final int PCI_DEVICE_RESET_COLD = 0;
    /** PCI_DEVICE_RESET_WARM. */
    public static final int PCI_DEVICE_RESET_WARM = 1;
    /** PCI_DEVICE_RESET_HOT. */
    public static final int PCI_DEVICE_RESET_HOT = 2;
    /** PCI_DEVICE_RESET_FLR. */
    public static final int PCI_DEVICE_RESET_FLR = 3;
    /** PCI_DEVICE_RESET_MASK. */
    public static final int PCI_DEVICE_RESET_MASK = 3;

    /** Bytes of physdev_pci_device_add Xen copies (the fixed part). */
    public static final int PCI_DEVICE_ADD_SIZE = 12;
    /** Bytes of physdev_pci_device. */
    public static final int PCI_DEVICE_SIZE = 4;
    /** Bytes of pci_device_reset. */
    public static final int PCI_DEVICE_RESET_SIZE = 8;
}
