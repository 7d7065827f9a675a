package org.xenpci.armpci;

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
 * The three PCI PHYSDEVOPs Arm handles ({@code pci_physdev_op}, xen/drivers/pci/physdev.c, and
 * {@code pci_add_device} / {@code pci_remove_device}, xen/drivers/passthrough/pci.c; spec
 * 2.3-2.5). Each handler checks in Xen's order and returns Xen's errno.
 *
 * <p>Thread-safe: any number of vCPUs may issue these concurrently; state changes happen under
 * Xen's pcidevs lock, then the owner's {@code pciLock} for writing (xen/drivers/passthrough/pci.c).
 */
final class PhysdevOps {
    private static final Logger LOG = LoggerFactory.getLogger(PhysdevOps.class);

    private final Xen xen;
    private final ArmPciLayer layer;

    PhysdevOps(Xen xen, ArmPciLayer layer) {
        this.xen = xen;
        this.layer = layer;
    }

    void register() {
        xen.registerPhysdevOp(Physdev.PCI_DEVICE_ADD, (vcpu, args) -> pciDeviceAdd(vcpu, args[1]));
        xen.registerPhysdevOp(Physdev.PCI_DEVICE_REMOVE, (vcpu, args) -> pciDeviceRemove(vcpu, args[1]));
        xen.registerPhysdevOp(Physdev.PCI_DEVICE_RESET, (vcpu, args) -> pciDeviceReset(vcpu, args[1]));
    }

    /** The runtime gate (xen/arch/arm/pci/pci.c: pci_init, and xen/drivers/pci/physdev.c): pci-passthrough on, or {@code arch_pci_device_physdevop()} = iommu_enabled. */
    private boolean gateOpen() {
        return xen.bootOptions().pciPassthrough() || xen.iommuEnabled();
    }

    /** The argument structure, or the failure of the common prologue. */
    private record Prologue(GuestStruct args, HypercallResult failure) {
    }

    /** What all three ops do first, in this order: the gate (-EOPNOTSUPP), then the copy (-EFAULT). */
    private Prologue prologue(Vcpu caller, long gpa, int size) {
        if (!gateOpen()) {
            return new Prologue(null, HypercallResult.failed(Errno.EOPNOTSUPP));
        }
        byte[] raw = caller.domain().p2m().copyFromGuest(gpa, size);
        return raw == null ? new Prologue(null, HypercallResult.failed(Errno.EFAULT)) : new Prologue(new GuestStruct(raw), null);
    }

    HypercallResult pciDeviceAdd(Vcpu caller, long gpa) {
        Prologue p = prologue(caller, gpa, Physdev.PCI_DEVICE_ADD_SIZE);
        if (p.failure() != null) {
            return p.failure();
        }
        GuestStruct s = p.args();
        long flags = s.u32(4);
        boolean extfn = (flags & Physdev.XEN_PCI_DEV_EXTFN) != 0;
        boolean virtfn = (flags & Physdev.XEN_PCI_DEV_VIRTFN) != 0;
        // XEN_PCI_DEV_PXM needs CONFIG_NUMA (x86 only): optarr is never read on Arm.
        Sbdf sbdf = Sbdf.ofDevfn(s.u16(0), s.u8(2), s.u8(3));
        return HypercallResult.ofRc(pciAddDevice(caller.domain(), sbdf, extfn, virtfn, s.u8(8), s.u8(9)));
    }

    /** {@code pci_add_device} (xen/drivers/passthrough/pci.c). */
    private int pciAddDevice(Domain caller, Sbdf sbdf, boolean extfn, boolean virtfn, int pfBus, int pfDevfn) {
        if (!xen.xsm().permits(XsmHook.RESOURCE_PLUG_PCI, caller, null, sbdf.sbdf())) {
            return Errno.EPERM.rc();
        }
        ReentrantLock pcidevs = xen.pcidevsLock();
        PdevRegistry reg = layer.pdevs();
        pcidevs.lock();
        try {
            Pdev pdev = reg.allocPdev(sbdf);
            pdev.info(extfn, virtfn);
            if (virtfn) {
                Pdev pf = reg.get(Sbdf.ofDevfn(sbdf.segment(), pfBus, pfDevfn));
                if (pf == null) {
                    LOG.warn("(XEN) Attempted to add SR-IOV device VF {} without PF {}", sbdf,
                            Sbdf.ofDevfn(sbdf.segment(), pfBus, pfDevfn));
                    free(pdev);
                    return Errno.ENODEV.rc();
                }
                pdev.linkPhysfn(pf);
            }
            if (!virtfn && !pdev.hasVfRlen()) {
                // pci_add_device: a PF's VF BARs are sized once, while its VFs are off (vf_rlen).
                long[] rlen = VirtfnResources.sizeVfBars(layer.conf(), sbdf);
                if (rlen != null) {
                    pdev.vfRlen(rlen);
                } else if (VirtfnResources.sriovPosition(layer.conf(), sbdf) != 0) {
                    LOG.warn("(XEN) SR-IOV device {} has its virtual functions already enabled", sbdf);
                }
            }
            int rc = 0;
            if (pdev.owner() == null) {
                rc = giveToHardwareDomain(pdev);
            }
            // else: iommu_enable_device has no Arm hook; 0.
            if (rc == 0) {
                LOG.debug("PCI add device {} ({})", sbdf, pdev.type());
                if (xen.trace().enabled(TraceCategory.DEVICE)) {
                    xen.trace().emit(new ArmPciEvents.PdevAdded(pdev.owner() == null ? -1 : pdev.owner().domid(), sbdf,
                            pdev.type()));
                }
            }
            return rc;
        } finally {
            pcidevs.unlock();
        }
    }

    /** Step 9: owner = hwdom at the head of its list, vPCI assign, then iommu_add_device; rolled back on failure. */
    private int giveToHardwareDomain(Pdev pdev) {
        Domain hwdom = xen.hardwareDomain();
        ReentrantReadWriteLock.WriteLock w = hwdom.pciLock().writeLock();
        w.lock();
        try {
            layer.pdevs().linkToOwner(pdev, hwdom);
            int rc = layer.vpciAssign(pdev);
            if (rc != 0) {
                layer.pdevs().unlinkFromOwner(pdev);
                LOG.error("(XEN) Setup of vPCI failed: {}", rc);
                return rc;
            }
        } finally {
            w.unlock();
        }
        int rc = iommuAddDevice(hwdom, pdev);
        if (rc != 0) {
            // The pdev stays in Xen's list, ownerless (pci_add_device: an iommu_add_device failure).
            detachFromOwner(pdev);
        }
        return rc;
    }

    private int iommuAddDevice(Domain owner, Pdev pdev) {
        if (!xen.iommuEnabled() || !owner.iommuEnabled()) {
            return 0;
        }
        return layer.iommu().addDevice(pdev);
    }

    HypercallResult pciDeviceRemove(Vcpu caller, long gpa) {
        Prologue p = prologue(caller, gpa, Physdev.PCI_DEVICE_SIZE);
        if (p.failure() != null) {
            return p.failure();
        }
        GuestStruct s = p.args();
        Sbdf sbdf = Sbdf.ofDevfn(s.u16(0), s.u8(2), s.u8(3));
        if (!xen.xsm().permits(XsmHook.RESOURCE_UNPLUG_PCI, caller.domain(), null, sbdf.sbdf())) {
            return HypercallResult.failed(Errno.EPERM);
        }
        PdevRegistry reg = layer.pdevs();
        if (!reg.hasSegment(sbdf.segment())) {
            return HypercallResult.failed(Errno.ENODEV);
        }
        ReentrantLock pcidevs = xen.pcidevsLock();
        pcidevs.lock();
        try {
            Pdev pdev = reg.get(sbdf);
            if (pdev == null) {
                return HypercallResult.failed(Errno.ENODEV);
            }
            if (!pdev.isVirtfn() && pdev.hasVfs()) {
                pdev.markBroken();
                for (Pdev vf : pdev.virtfns()) {
                    vf.markBroken();
                }
                LOG.warn("(XEN) {}: cannot remove a PF with VFs still present; PF and VFs marked broken", sbdf);
                return HypercallResult.failed(Errno.EBUSY);
            }
            Domain owner = pdev.owner();
            if (owner != null) {
                ReentrantReadWriteLock.WriteLock w = owner.pciLock().writeLock();
                w.lock();
                try {
                    layer.vpciDeassign(pdev);
                    reg.unlinkFromOwner(pdev);
                } finally {
                    w.unlock();
                }
            }
            // pci_cleanup_msi is a no-op on Arm. iommu_remove_device sees the old owner.
            int rc;
            if (owner == null) {
                rc = Errno.EINVAL.rc();
            } else if (!xen.iommuEnabled() || !owner.iommuEnabled()) {
                rc = 0;
            } else {
                rc = layer.iommu().removeDevice(pdev);
            }
            reg.freePdev(pdev);
            layer.pdevRemoved(pdev);
            LOG.debug("PCI remove device {}: {}", sbdf, rc);
            if (xen.trace().enabled(TraceCategory.DEVICE)) {
                xen.trace().emit(new ArmPciEvents.PdevRemoved(sbdf, rc));
            }
            return HypercallResult.ofRc(rc);
        } finally {
            pcidevs.unlock();
        }
    }

    HypercallResult pciDeviceReset(Vcpu caller, long gpa) {
        Prologue p = prologue(caller, gpa, Physdev.PCI_DEVICE_RESET_SIZE);
        if (p.failure() != null) {
            return p.failure();
        }
        GuestStruct s = p.args();
        if ((s.u32(4) & ~(long) Physdev.PCI_DEVICE_RESET_MASK) != 0) {
            return HypercallResult.failed(Errno.EINVAL);
        }
        Sbdf sbdf = Sbdf.ofDevfn(s.u16(0), s.u8(2), s.u8(3));
        if (!xen.xsm().permits(XsmHook.RESOURCE_SETUP_PCI, caller.domain(), null, sbdf.sbdf())) {
            return HypercallResult.failed(Errno.EPERM);
        }
        ReentrantLock pcidevs = xen.pcidevsLock();
        ReentrantReadWriteLock.WriteLock w;
        Pdev pdev;
        pcidevs.lock();
        try {
            pdev = layer.pdevs().get(sbdf);
            // Xen dereferences a NULL owner here (undefined); the model defines it as -ENODEV.
            if (pdev == null || pdev.owner() == null) {
                return HypercallResult.failed(Errno.ENODEV);
            }
            w = pdev.owner().pciLock().writeLock();
            w.lock();
        } finally {
            pcidevs.unlock();
        }
        try {
            // vpci_reset_device: full deassign then assign, so cached vPCI state is rebuilt.
            layer.vpciDeassign(pdev);
            return HypercallResult.ofRc(layer.vpciAssign(pdev));
        } finally {
            w.unlock();
        }
    }

    /** free_pdev of a pdev that may have had an owner: detach vPCI and unlink first, so nothing dangles. */
    private void free(Pdev pdev) {
        if (pdev.owner() != null) {
            detachFromOwner(pdev);
        }
        layer.pdevs().freePdev(pdev);
        layer.pdevRemoved(pdev);
    }

    /** vPCI deassign and unlink from the current owner, under that owner's pci_lock (write). */
    private void detachFromOwner(Pdev pdev) {
        ReentrantReadWriteLock.WriteLock w = pdev.owner().pciLock().writeLock();
        w.lock();
        try {
            layer.vpciDeassign(pdev);
            layer.pdevs().unlinkFromOwner(pdev);
        } finally {
            w.unlock();
        }
    }
}
