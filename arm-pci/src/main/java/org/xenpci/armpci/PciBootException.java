package org.xenpci.armpci;

import org.xenpci.core.BootException;

/**
 * Boot cannot continue because of the host device tree: the places where real Xen panics
 * ({@code BUG()}), fails dom0 construction, or would run a driver this model does not have.
 * Thrown from {@code Xen.builder().build()}; the message names the offending DT node. The Arm
 * PCI layer's kind of {@link BootException}.
 */
public class PciBootException extends BootException {
    private static final long serialVersionUID = 1L;

    public PciBootException(String nodePath, String message) {
        super(nodePath, null, message, null);
    }

    /**
     * A host bridge node's {@code linux,pci-domain} style is inconsistent with the bridges probed
     * before it (some have the property, some do not). Xen hits {@code BUG()} in
     * {@code pci_host_common_probe}: a hypervisor panic at boot (xen/arch/arm/pci/pci-host-common.c: pci_bus_find_domain_nr).
     */
    public static final class InconsistentPciDomain extends PciBootException {
        private static final long serialVersionUID = 1L;

        public InconsistentPciDomain(String nodePath) {
            super(nodePath, "Inconsistent \"linux,pci-domain\" property in DT at " + nodePath
                    + ": host bridges must either all carry linux,pci-domain or none; Xen would BUG() here");
        }
    }

    /**
     * An R-Car Gen4 / DesignWare probe Xen would carry on with an error pointer or a NULL iATU
     * base (pci-host-rcar4.c does not check {@code dw_pcie_host_probe}'s result): a missing
     * {@code atu} entry, or a failed common probe with {@code app} present. Xen would crash later
     * (or at once); refused at boot instead.
     */
    public static final class DesignWareProbeBroken extends PciBootException {
        private static final long serialVersionUID = 1L;

        public DesignWareProbeBroken(String nodePath, String detail) {
            super(nodePath, "host bridge " + nodePath + ": " + detail);
        }
    }

    /**
     * Dom0 DT construction needs a {@code linux,pci-domain} number for a host bridge node and none
     * is available ({@code handle_linux_pci_domain} returns -FDT_ERR_NOTFOUND; dom0 creation
     * fails, xen/arch/arm/domain_build.c: handle_linux_pci_domain).
     */
    public static final class PciDomainUnavailable extends PciBootException {
        private static final long serialVersionUID = 1L;

        public PciDomainUnavailable(String nodePath) {
            super(nodePath, "Can't assign PCI segment to " + nodePath
                    + ": no linux,pci-domain number available (-FDT_ERR_NOTFOUND); dom0 device tree creation fails");
        }
    }

    /** A 1:1 mapping Xen needs in the hardware domain's p2m could not be made (Xen panics building dom0). */
    public static final class HwdomMappingFailed extends PciBootException {
        private static final long serialVersionUID = 1L;

        public HwdomMappingFailed(String nodePath, String message) {
            super(nodePath, message);
        }
    }
}
