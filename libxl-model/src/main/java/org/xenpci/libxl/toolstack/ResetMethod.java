package org.xenpci.libxl.toolstack;

/**
 * The reset dom0's {@code pci_reset_function} used for a function (Linux drivers/pci/pci.c,
 * {@code pci_reset_fn_methods}, in the order Linux tries them). Device-specific quirks, ACPI
 * {@code _RST}, the conventional-PCI Advanced Features FLR and the secondary bus reset through
 * the parent bridge are not modelled: a function that only one of those could reset counts as
 * {@link #NONE}.
 */
public enum ResetMethod {
    /** PCIe Function Level Reset ({@code pcie_flr}): Device Control's Initiate FLR. */
    FLR,
    /** PM reset ({@code pci_pm_reset}): D3hot then D0, the function lacking No_Soft_Reset. */
    PM,
    /**
     * No reset method: Linux exposes no sysfs {@code reset} file, libxl logs "The kernel
     * doesn't support reset from sysfs", and only pciback's disable sequence runs.
     */
    NONE
}
