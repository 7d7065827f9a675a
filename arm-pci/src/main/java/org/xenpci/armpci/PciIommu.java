package org.xenpci.armpci;

/**
 * The IOMMU seam of the pdev layer ({@code iommu_add_device} / {@code iommu_remove_device} in
 * xen/drivers/passthrough/pci.c, spec 2.3 step 9 and 2.4). An SMMU model registers one through
 * {@link ArmPciLayer#iommu(PciIommu)}. These are called only when {@code xen.iommuEnabled()}
 * is true; with the IOMMU off Xen returns 0 without calling a driver.
 *
 * <p>Called with the pcidevs lock held.
 */
public interface PciIommu {

    /** The IOMMU driver's add_device for the pdev (and its phantom functions). 0 or a negative errno. */
    int addDevice(Pdev pdev);

    /** The IOMMU driver's remove_device. 0 or a negative errno. */
    int removeDevice(Pdev pdev);

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
