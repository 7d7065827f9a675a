package org.xenpci.armpci;

import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.GuestStruct;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.XsmHook;
import org.xenpci.core.pci.Sbdf;
import org.xenpci.core.trace.TraceCategory;

/**
 * Device assignment for PCI: XEN_DOMCTL_assign_device / test_assign_device / deassign_device
 * ({@code iommu_do_domctl} and {@code iommu_do_pci_domctl}, {@code device_assigned},
 * {@code assign_device}, {@code deassign_device}, xen/drivers/passthrough/pci.c and iommu.c;
 * xen/drivers/passthrough/pci.c: iommu_do_pci_domctl, xen/common/domctl.c) and {@code pci_release_devices} at domain
 * destruction.
 *
 * <p>One deliberate difference from Xen: a failure after the old owner's vPCI state was removed
 * (IOMMU assign, or vPCI attach for the new owner) is rolled back completely (ownership, IOMMU
 * context, the old owner's vPCI state), where Xen leaves the device half moved.
 *
 * <p>Thread-safe: every state change runs under Xen's pcidevs lock, then one domain's
 * {@code pciLock} for writing at a time, old owner before new (xen/drivers/passthrough/pci.c: reassign_device).
 */
final class PciAssignment {
    private static final Logger LOG = LoggerFactory.getLogger(PciAssignment.class);

    private final Xen xen;
    private final ArmPciLayer layer;
    private final boolean iommuQuarantine;

    /**
     * @param iommuQuarantine Xen's global {@code iommu_quarantine} (Kconfig default "basic" = on):
     *        devices deassigned from a domain go to dom_io rather than back to the hardware domain
     */
    PciAssignment(Xen xen, ArmPciLayer layer, boolean iommuQuarantine) {
        this.xen = xen;
        this.layer = layer;
        this.iommuQuarantine = iommuQuarantine;
    }

    void register() {
        xen.registerDomctl(Domctl.ASSIGN_DEVICE, (v, d, op) -> domctl(Domctl.ASSIGN_DEVICE, v, d, op));
        xen.registerDomctl(Domctl.TEST_ASSIGN_DEVICE, (v, d, op) -> domctl(Domctl.TEST_ASSIGN_DEVICE, v, d, op));
        xen.registerDomctl(Domctl.DEASSIGN_DEVICE, (v, d, op) -> domctl(Domctl.DEASSIGN_DEVICE, v, d, op));
    }

    /** {@code is_iommu_enabled(d)}: the domain has CDF_iommu, which Xen grants only with an IOMMU. */
    private boolean iommuEnabled(Domain d) {
        return xen.iommuEnabled() && d.iommuEnabled();
    }

    /** The three ops' shared checks, in Xen's order (xen/common/domctl.c, xen/drivers/passthrough/pci.c: iommu_do_pci_domctl). */
    HypercallResult domctl(int cmd, Vcpu caller, Domain target, GuestStruct op) {
        if (target == null && cmd != Domctl.TEST_ASSIGN_DEVICE) {
            // do_domctl already refused DOMID_INVALID for assign/deassign; this is Xen's ASSERT(d).
            return HypercallResult.failed(Errno.ESRCH);
        }
        if (!(target == null ? xen.iommuEnabled() : iommuEnabled(target))) {
            return HypercallResult.failed(Errno.EOPNOTSUPP);
        }
        if (target != null && target == caller.domain()) {
            return HypercallResult.failed(Errno.EINVAL);
        }
        if (op.u32(Domctl.OFF_ASSIGN_DEV) != Domctl.DEV_PCI) {
            // The DT handler runs next and also answers -ENODEV: dev is not DT-form PCI.
            return HypercallResult.failed(Errno.ENODEV);
        }
        long flags = op.u32(Domctl.OFF_ASSIGN_FLAGS);
        boolean badFlags = cmd == Domctl.ASSIGN_DEVICE
                ? target.isDying() || (flags & ~(long) Domctl.DEV_RDM_RELAXED) != 0
                : flags != 0;
        if (badFlags) {
            return HypercallResult.failed(Errno.EINVAL);
        }
        Sbdf sbdf = Sbdf.fromPacked((int) op.u32(Domctl.OFF_ASSIGN_MACHINE_SBDF));
        XsmHook hook = cmd == Domctl.DEASSIGN_DEVICE ? XsmHook.DEASSIGN_DEVICE : XsmHook.ASSIGN_DEVICE;
        if (!xen.xsm().permits(hook, caller.domain(), target, sbdf.sbdf())) {
            return HypercallResult.failed(Errno.EPERM);
        }
        ReentrantLock pcidevs = xen.pcidevsLock();
        pcidevs.lock();
        try {
            if (cmd == Domctl.DEASSIGN_DEVICE) {
                return HypercallResult.ofRc(deassignDevice(target, sbdf));
            }
            int rc = deviceAssigned(sbdf);
            if (cmd == Domctl.TEST_ASSIGN_DEVICE) {
                if (rc != 0) {
                    LOG.debug("(XEN) {} already assigned, or non-existent", sbdf);
                    return HypercallResult.failed(Errno.EINVAL);
                }
                return HypercallResult.ok();
            }
            if (rc == 0) {
                rc = assignDevice(target, layer.pdevs().get(sbdf));
            }
            if (rc != 0) {
                LOG.warn("(XEN) assign {} to {} failed ({})", sbdf, target, rc);
            }
            return HypercallResult.ofRc(rc);
        } finally {
            pcidevs.unlock();
        }
    }

    /** {@code device_assigned}: 0 if Xen knows the device and it sits with the hardware domain or dom_io. */
    private int deviceAssigned(Sbdf sbdf) {
        Pdev pdev = layer.pdevs().get(sbdf);
        if (pdev == null) {
            return Errno.ENODEV.rc();
        }
        Domain owner = pdev.owner();
        if (owner != xen.hardwareDomain() && owner != xen.domIo()) {
            return Errno.EBUSY.rc();
        }
        return 0;
    }

    /**
     * {@code assign_device}: old owner's vPCI off, IOMMU context to {@code d}, ownership to
     * {@code d}, vPCI on for {@code d}. Assigning to dom_io marks the device quarantined.
     */
    private int assignDevice(Domain d, Pdev pdev) {
        // arch_iommu_use_permitted() is always true on Arm (-EXDEV never happens).
        if (pdev.broken() && d != xen.hardwareDomain() && d != xen.domIo()) {
            return Errno.EBADF.rc();
        }
        Domain old = pdev.owner();
        boolean wasQuarantined = pdev.quarantine();
        vpciDeassign(old, pdev);
        // pdev_msix_assign and iommu_quarantine_dev_init are no-ops on Arm.
        int rc = iommuAssign(d, pdev);
        if (rc != 0) {
            restoreVpci(old, pdev);
            return rc;
        }
        rc = move(pdev, old, d, wasQuarantined);
        if (rc == 0 && d == xen.domIo()) {
            pdev.quarantine(true);
        }
        return rc;
    }

    /**
     * {@code deassign_device}: the device goes to dom_io if it is quarantined or the global
     * quarantine mode is on (unless it already is in dom_io), else to the hardware domain,
     * which clears the quarantine mark.
     */
    int deassignDevice(Domain d, Sbdf sbdf) {
        if (!iommuEnabled(d)) {
            return Errno.EINVAL.rc();
        }
        Pdev pdev = layer.pdevs().get(sbdf);
        if (pdev == null || pdev.owner() != d) {
            return Errno.ENODEV.rc();
        }
        boolean wasQuarantined = pdev.quarantine();
        Domain target = (wasQuarantined || iommuQuarantine) && d != xen.domIo() ? xen.domIo() : xen.hardwareDomain();
        vpciDeassign(d, pdev);
        int rc = xen.iommuEnabled() ? layer.iommu().reassignDevice(d, target, pdev) : 0;
        if (rc != 0) {
            restoreVpci(d, pdev);
            LOG.warn("(XEN) {}: deassign ({}) failed ({})", d, sbdf, rc);
            return rc;
        }
        if (target == xen.hardwareDomain()) {
            pdev.quarantine(false);
        }
        rc = move(pdev, d, target, wasQuarantined);
        if (rc != 0) {
            LOG.warn("(XEN) {}: deassign ({}) failed ({})", d, sbdf, rc);
        }
        return rc;
    }

    /**
     * {@code pci_release_devices}: deassigns every device {@code d} owns (newest first). Devices
     * whose deassignment fails stay with {@code d}; the first error is logged, traced and
     * returned.
     */
    int releaseDevices(Domain d) {
        ReentrantLock pcidevs = xen.pcidevsLock();
        pcidevs.lock();
        try {
            int first = 0;
            List<Pdev> owned = layer.pdevs().ownedBy(d);
            for (Pdev pdev : owned) {
                int rc = deassignDevice(d, pdev.sbdf());
                if (rc != 0 && first == 0) {
                    first = rc;
                    LOG.error("(XEN) {}: releasing {} failed ({}); it stays with the domain", d, pdev.sbdf(), rc);
                    if (xen.trace().enabled(TraceCategory.DEVICE)) {
                        xen.trace().emit(new ArmPciEvents.PdevReleaseFailed(d.domid(), pdev.sbdf(), rc));
                    }
                }
            }
            return first;
        } finally {
            pcidevs.unlock();
        }
    }

    /**
     * The second half of an (de)assignment, after the IOMMU accepted {@code to}: ownership moves,
     * then vPCI attaches for the new owner. A vPCI failure puts everything back (owner,
     * quarantine mark, IOMMU context, the old owner's vPCI state) and returns the vPCI error.
     */
    private int move(Pdev pdev, Domain from, Domain to, boolean wasQuarantined) {
        layer.pdevs().reassign(pdev, to);
        int rc = vpciAssign(to, pdev);
        if (rc == 0) {
            LOG.debug("{} moved from {} to {}", pdev.sbdf(), from, to);
            if (xen.trace().enabled(TraceCategory.DEVICE)) {
                xen.trace().emit(new ArmPciEvents.PdevAssigned(to.domid(), pdev.sbdf(), from.domid()));
            }
            return 0;
        }
        layer.pdevs().reassign(pdev, from);
        pdev.quarantine(wasQuarantined);
        int back = iommuAssign(from, pdev);
        if (back != 0) {
            LOG.error("(XEN) {}: cannot restore the IOMMU context for {} ({})", pdev.sbdf(), from, back);
        }
        restoreVpci(from, pdev);
        return rc;
    }

    private int iommuAssign(Domain d, Pdev pdev) {
        return xen.iommuEnabled() ? layer.iommu().assignDevice(d, pdev) : 0;
    }

    private void vpciDeassign(Domain owner, Pdev pdev) {
        ReentrantReadWriteLock.WriteLock w = owner.pciLock().writeLock();
        w.lock();
        try {
            layer.vpciDeassign(pdev);
        } finally {
            w.unlock();
        }
    }

    private int vpciAssign(Domain owner, Pdev pdev) {
        ReentrantReadWriteLock.WriteLock w = owner.pciLock().writeLock();
        w.lock();
        try {
            return layer.vpciAssign(pdev);
        } finally {
            w.unlock();
        }
    }

    /** Re-attaches vPCI for the owner the device is back with (rollback); a failure here is only logged. */
    private void restoreVpci(Domain owner, Pdev pdev) {
        int rc = vpciAssign(owner, pdev);
        if (rc != 0) {
            LOG.error("(XEN) {}: cannot restore vPCI for {} ({})", pdev.sbdf(), owner, rc);
        }
    }
}
