package org.xenpci.armpci;

/**
 * Xen's {@code enum pdev_type} (xen/include/xen/pci.h), as {@code pdev_type()} in
 * xen/drivers/passthrough/pci.c classifies a function from its class word (config 0x0a) and
 * PCI Express capability (xen/drivers/passthrough/pci.c: pdev_type).
 */
public enum PdevType {
    /** Class 0xffff: nothing answered. */
    PCI_UNKNOWN,
    /** Not a bridge, with a PCI Express capability. */
    PCIE_ENDPOINT,
    /** PCI-PCI bridge (0x0604) with a PCIe capability of a root/switch port type. */
    PCIE_BRIDGE,
    /** PCI-PCI bridge whose PCIe type is PCI_EXP_TYPE_PCIE_BRIDGE (PCI to PCIe). */
    PCI2PCIE_BRIDGE,
    /** PCI-PCI bridge whose PCIe type is PCI_EXP_TYPE_PCI_BRIDGE (PCIe to PCI). */
    PCIE2PCI_BRIDGE,
    /** PCI-PCI bridge without a PCIe capability. */
    LEGACY_PCI_BRIDGE,
    /** Class 0x0600. */
    PCI_HOST_BRIDGE,
    /** Not a bridge, no PCIe capability (also pre-2.0 class 0 devices). */
    PCI
}
