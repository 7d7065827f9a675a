package org.xenpci.armpci;

import org.xenpci.core.Domain;

/**
 * The ownership move at the heart of device (de)assignment, in Xen's order
 * ({@code assign_device} / {@code deassign_device}, xen/drivers/passthrough/pci.c): vPCI (and
 * every other pdev listener, e.g. the ITS mappings) detach from the current owner, the pdev moves
 * to the new owner's list, then the listeners attach for the new owner. No IOMMU programming
 * and none of the domctl checks: this is the plumbing the assignment domctls build on, for
 * embedders and tests until {@code XEN_DOMCTL_assign_device} is modelled.
 */
public final class PdevOwnership {
    private PdevOwnership() {
    }

    /**
     * Moves {@code pdev} to {@code target} under the pcidevs lock.
     *
     * @return 0, or the listeners' error when attaching for {@code target} (the pdev then stays
     *         with {@code target} without vPCI, as Xen leaves it before its rollback)
     */
    public static int move(ArmPciLayer layer, org.xenpci.core.Xen xen, Pdev pdev, Domain target) {
        xen.pcidevsLock().lock();
        try {
            if (pdev.owner() != null) {
                layer.vpciDeassign(pdev);
            }
            layer.pdevs().reassign(pdev, target);
            return target == null ? 0 : layer.vpciAssign(pdev);
        } finally {
            xen.pcidevsLock().unlock();
        }
    }
}
