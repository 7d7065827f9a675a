package org.xenpci.armpci;

import java.util.Optional;
import org.xenpci.core.Domain;

/**
 * The IOMMU seam of the pdev layer: the {@code iommu_ops} hooks xen/drivers/passthrough/pci.c
 * calls for PCI devices ({@code iommu_add_device} / {@code iommu_remove_device}, xen/drivers/passthrough/pci.c:
 * step 9 and 2.4; {@code assign_device} / {@code reassign_device} from the assignment domctls,
 * iommu_do_pci_domctl). An SMMU model registers one through {@link ArmPciLayer#iommu(PciIommu)}, or
 * publishes it as a {@code PciIommu} service that {@link ArmPci} installs at init. These are
 * called only when {@code xen.iommuEnabled()} is true; with the IOMMU off Xen returns 0 without
 * calling a driver.
 *
 * <p>The hooks change only IOMMU contexts: pdev ownership and vPCI are the caller's business.
 * Called with the pcidevs lock held.
 */
public interface PciIommu {

    /** The IOMMU driver's add_device for the pdev (and its phantom functions). 0 or a negative errno. */
    int addDevice(Pdev pdev);

    /** The IOMMU driver's remove_device. 0 or a negative errno. */
    int removeDevice(Pdev pdev);

    /**
     * {@code iommu_ops->assign_device(target, devfn, dev, flag)}: moves the device's IOMMU
     * context to {@code target} (the pdev is still owned by its old owner). Assigning to
     * dom_io detaches it. 0 or a negative errno; on failure the context is unchanged.
     */
    default int assignDevice(Domain target, Pdev pdev) {
        return 0;
    }

    /**
     * {@code iommu_ops->reassign_device(source, target, devfn, dev)} on deassignment. Arm's SMMU
     * drivers allow only the hardware domain, or dom_io for PCI devices, as {@code target}
     * (-EPERM otherwise). 0 or a negative errno; on failure the context is unchanged.
     */
    default int reassignDevice(Domain source, Domain target, Pdev pdev) {
        return 0;
    }

    /**
     * Read-only: what the IOMMU hardware does with {@code pdev}'s DMA now, as the driver
     * programmed it (an auditor's view; thread-safe, changes nothing). Empty if the driver has
     * no stream for the device (add_device never succeeded, or it is not behind an IOMMU this
     * driver drives): its DMA then does not pass an IOMMU Xen controls.
     */
    default Optional<IommuContext> context(Pdev pdev) {
        return Optional.empty();
    }

    /**
     * The host-DT paths of the IOMMU nodes this driver took charge of, in DT order; what reports
     * and diagnostics name (docs/cli.md {@code boot --json}).
     */
    default java.util.List<String> drivenNodes() {
        return java.util.List.of();
    }

    /**
     * The ID the driver holds for the function in its {@code iommu_fwspec} (an SMMU stream ID),
     * empty if it has none (never added, or not behind an IOMMU it drives).
     */
    default java.util.OptionalLong fwspecId(org.xenpci.core.pci.Sbdf sbdf) {
        return java.util.OptionalLong.empty();
    }

    /** The seam used when no IOMMU model is registered: accepts everything. */
    PciIommu NONE = new PciIommu() {
        @Override
        public int addDevice(Pdev pdev) {
            return 0;
        }

        @Override
        public int removeDevice(Pdev pdev) {
            return 0;
        }
    };
}
