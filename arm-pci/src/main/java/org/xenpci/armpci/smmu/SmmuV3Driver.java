package org.xenpci.armpci.smmu;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.IommuContext;
import org.xenpci.armpci.PciIommu;
import org.xenpci.armpci.Pdev;
import org.xenpci.core.Domain;
import org.xenpci.core.Errno;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;

/**
 * Xen's SMMUv3 driver for PCI devices (xen/drivers/passthrough/arm/smmu-v3.c with the DT
 * sideband-ID lookup of xen/drivers/passthrough/device_tree.c
 * {@code iommu_add_dt_pci_sideband_ids}), as the {@link PciIommu} the pdev layer calls.
 *
 * <p>Per device it keeps the {@code iommu_fwspec} (the stream ID on one SMMU); per SMMU the
 * stream table ({@link SmmuV3}). Contexts: an owner other than dom_io gets an STE translating
 * through its p2m; dom_io (quarantine) gets an aborting STE ("for dom_io it simply detaches",
 * xen/drivers/passthrough/pci.c: iommu_do_pci_domctl).
 *
 * <p>Thread-safety: the {@link PciIommu} hooks run under Xen's pcidevs lock; they and the
 * queries also synchronize on this driver, so queries from any thread see a consistent fwspec
 * map. Translation itself goes to the lock-free {@link SmmuV3#translate}.
 */
public final class SmmuV3Driver implements PciIommu {
    private static final Logger LOG = LoggerFactory.getLogger(SmmuV3Driver.class);

    private final Xen xen;
    private final List<SmmuV3> smmus;
    /** iommu_fwspec per device; weak so a pdev freed while ownerless (no remove_device call) does not leak. */
    private final Map<Pdev, StreamId> fwspecs = new WeakHashMap<>();

    SmmuV3Driver(Xen xen, List<SmmuV3> smmus) {
        this.xen = xen;
        this.smmus = List.copyOf(smmus);
    }

    @Override
    public List<String> drivenNodes() {
        return smmus.stream().map(SmmuV3::path).toList();
    }

    @Override
    public synchronized java.util.OptionalLong fwspecId(Sbdf sbdf) {
        return streamId(sbdf).map(s -> java.util.OptionalLong.of(s.sid() & 0xffffffffL)).orElse(java.util.OptionalLong.empty());
    }

    /** The SMMUs the driver took charge of, in DT order. */
    public List<SmmuV3> smmus() {
        return smmus;
    }

    /**
     * {@code add_device} for a PCI function (xen/drivers/passthrough/arm/smmu-v3.c: arm_smmu_add_device). Checks, in order: a fwspec already
     * present: -EEXIST; no host bridge: -ENODEV; a malformed {@code iommu-map}: -EINVAL / -EFAULT
     * (as {@code dt_map_id}); no {@code iommu-map} or no entry covering the RID (not behind an
     * IOMMU, so no fwspec): -ENODEV; the entry's phandle not an SMMU this driver drives: -ENODEV;
     * stream ID at or above 2^{@link SmmuV3#SID_BITS}: -ERANGE (the fwspec stays, as in Xen, so a
     * later re-add gives -EEXIST). Then the device is attached to its current owner.
     */
    @Override
    public synchronized int addDevice(Pdev pdev) {
        if (fwspecs.containsKey(pdev)) {
            return Errno.EEXIST.rc();
        }
        Sbdf sbdf = pdev.sbdf();
        Optional<IommuMap.Lookup> lookup = IommuMap.forFunction(xen, sbdf);
        if (lookup.isEmpty()) {
            LOG.error("(XEN) Unable to find PCI bridge for {}", sbdf);
            return Errno.ENODEV.rc();
        }
        IommuMap.Result r = lookup.get().result();
        if (r instanceof IommuMap.Malformed m) {
            LOG.error("(XEN) {}: {}", lookup.get().bridge().path(), m.why());
            return m.errno().rc();
        }
        if (r instanceof IommuMap.NotBehindIommu n) {
            LOG.debug("{} not behind an IOMMU ({}): no fwspec", sbdf, n.why());
            return Errno.ENODEV.rc();
        }
        IommuMap.Mapped mapped = (IommuMap.Mapped) r;
        SmmuV3 smmu = byPhandle(mapped.phandle());
        if (smmu == null) {
            LOG.error("(XEN) {}: iommu-map phandle 0x{} is not an SMMUv3 Xen drives", sbdf,
                    Integer.toHexString(mapped.phandle()));
            return Errno.ENODEV.rc();
        }
        StreamId sid = new StreamId(smmu, (int) mapped.id());
        fwspecs.put(pdev, sid);
        if (!smmu.sidInRange(mapped.id())) {
            LOG.error("(XEN) {}: stream ID 0x{} out of range for {} ({} bits)", sbdf, Long.toHexString(mapped.id()),
                    smmu.path(), smmu.sidBits());
            return Errno.ERANGE.rc();
        }
        smmu.install(sid.sid(), pdev, context(pdev.owner()));
        LOG.debug("{}: added {} as {}", smmu, sbdf, sid);
        return 0;
    }

    /** {@code remove_device}: invalidates the STE and frees the fwspec; -ENODEV if the device has none. */
    @Override
    public synchronized int removeDevice(Pdev pdev) {
        StreamId sid = fwspecs.remove(pdev);
        if (sid == null) {
            return Errno.ENODEV.rc();
        }
        if (sid.smmu().sidInRange(sid.sid())) {
            sid.smmu().invalidate(sid.sid());
        }
        return 0;
    }

    /** {@code arm_smmu_assign_dev}: the STE now uses {@code target}'s p2m (dom_io: aborts). -ENODEV without a fwspec. */
    @Override
    public synchronized int assignDevice(Domain target, Pdev pdev) {
        StreamId sid = fwspecs.get(pdev);
        if (sid == null) {
            return Errno.ENODEV.rc();
        }
        if (!sid.smmu().sidInRange(sid.sid())) {
            return Errno.ERANGE.rc();
        }
        sid.smmu().install(sid.sid(), pdev, context(target));
        return 0;
    }

    /**
     * {@code arm_smmu_reassign_dev}: only the hardware domain, or dom_io (PCI devices), may
     * receive a device back: -EPERM otherwise; {@code target == source} is a no-op.
     */
    @Override
    public synchronized int reassignDevice(Domain source, Domain target, Pdev pdev) {
        if (target != null && !target.isHardwareDomain() && target != xen.domIo()) {
            return Errno.EPERM.rc();
        }
        if (target == source) {
            return 0;
        }
        return assignDevice(target, pdev);
    }

    /**
     * What the SMMU does with the device's stream: its STE's context, abort (no STE, an
     * aborting STE, or a stream ID beyond the table), or bypass while SMMUEN is clear. Empty
     * without a fwspec.
     */
    @Override
    public synchronized Optional<IommuContext> context(Pdev pdev) {
        StreamId sid = fwspecs.get(pdev);
        if (sid == null) {
            return Optional.empty();
        }
        return Optional.of(sid.smmu().streamContext(sid.sid()));
    }

    /** The stream ID (fwspec) of the device at {@code sbdf}, if Xen knows it and add_device created one. */
    public synchronized Optional<StreamId> streamId(Sbdf sbdf) {
        Optional<Pdev> p = xen.service(ArmPciLayer.class).flatMap(l -> l.findPdev(sbdf));
        return p.map(fwspecs::get);
    }

    /** {@link SmmuV3#owner(int)} on the only SMMU. */
    public Optional<Domain> owner(int sid) {
        return only().owner(sid);
    }

    /** {@link SmmuV3#translate(int, long)} on the only SMMU. */
    public DmaTranslation translate(int sid, long iova) {
        return only().translate(sid, iova);
    }

    private SmmuV3 only() {
        if (smmus.size() != 1) {
            throw new IllegalStateException("stream IDs are per SMMU and there are " + smmus.size()
                    + "; use smmus() or streamId(sbdf)");
        }
        return smmus.get(0);
    }

    private SmmuV3 byPhandle(int phandle) {
        for (SmmuV3 s : smmus) {
            if (s.phandle() != 0 && s.phandle() == phandle) {
                return s;
            }
        }
        return null;
    }

    /** dom_io (quarantine) and "no owner" get an aborting STE: Xen detaches rather than bypassing. */
    private Domain context(Domain owner) {
        return owner == null || owner == xen.domIo() ? null : owner;
    }
}
