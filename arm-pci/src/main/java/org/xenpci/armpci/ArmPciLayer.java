package org.xenpci.armpci;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.pci.Sbdf;

/**
 * Xen's Arm PCI layer as one booted Xen holds it, published as a service by {@link ArmPci}
 * ({@code xen.service(ArmPciLayer.class)}): the registered host bridges, host config access,
 * the pdev registry, and the seams upper layers plug into (pdev listeners, the IOMMU).
 *
 * <p>Thread-safety: bridges and config access are immutable after boot; the registry is
 * guarded by the pcidevs lock; listener registration is thread-safe (copy-on-write) but meant
 * for boot time.
 */
public final class ArmPciLayer {
    private static final Logger LOG = LoggerFactory.getLogger(ArmPciLayer.class);

    private final boolean pciInitRan;
    private final HostBridges bridges;
    private final PciConf conf;
    private final PdevRegistry pdevs;
    private final ProbeFailure probeFailure;
    private final PciDomainNumbering numbering;
    private final List<PdevListener> listeners = new CopyOnWriteArrayList<>();
    private volatile PciIommu iommu = PciIommu.NONE;

    ArmPciLayer(boolean pciInitRan, HostBridges bridges, PciConf conf, PdevRegistry pdevs, ProbeFailure probeFailure,
            PciDomainNumbering numbering) {
        this.pciInitRan = pciInitRan;
        this.bridges = bridges;
        this.conf = conf;
        this.pdevs = pdevs;
        this.probeFailure = probeFailure;
        this.numbering = numbering;
    }

    /** Whether {@code pci_init} ran (pci-passthrough on or the IOMMU enabled at boot). */
    public boolean pciInitRan() {
        return pciInitRan;
    }

    /** The registered host bridges and their lookups. */
    public HostBridges hostBridges() {
        return bridges;
    }

    /** {@code pci_find_host_bridge(seg, bus)}: the bridge serving (seg, bus), or null. */
    public HostBridge findHostBridge(int segment, int bus) {
        return bridges.findHostBridge(segment, bus);
    }

    /** {@code pci_get_host_bridge_segment}: segment of the bridge at DT {@code path}, or -EINVAL. */
    public int segmentOf(String path) {
        return bridges.segmentOf(path);
    }

    /** Xen's host config accessors ({@code pci_conf_read/write*}). */
    public PciConf conf() {
        return conf;
    }

    /** Xen's pdev lists. */
    public PdevRegistry pdevs() {
        return pdevs;
    }

    /** The pdev at {@code sbdf}, whatever its owner. */
    public Optional<Pdev> findPdev(Sbdf sbdf) {
        return pdevs.find(sbdf);
    }

    /** The probe failure that stopped discovery early, if any (Xen boots on without later bridges). */
    public Optional<ProbeFailure> probeFailure() {
        return Optional.ofNullable(probeFailure);
    }

    /** Registers an upper-layer pdev listener (vPCI); called in registration order. */
    public void addListener(PdevListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** Installs the IOMMU driver seam used when {@code xen.iommuEnabled()}. */
    public void iommu(PciIommu driver) {
        this.iommu = Objects.requireNonNull(driver, "driver");
    }

    /** The installed IOMMU seam ({@link PciIommu#NONE} until one is installed). */
    public PciIommu iommu() {
        return iommu;
    }

    /**
     * {@code pci_check_bar(pdev, start_mfn, end_mfn)} (xen/arch/arm/pci/pci-host-common.c): true only if the inclusive
     * byte range {@code [startMfn << 12, ((endMfn + 1) << 12) - 1]} lies entirely inside ONE
     * entry of the device's host bridge {@code ranges} (CPU addresses). False if
     * {@code startMfn > endMfn} or no bridge serves the device.
     */
    public boolean pciCheckBar(Sbdf sbdf, long startMfn, long endMfn) {
        HostBridge b = bridges.findHostBridge(sbdf.segment(), sbdf.bus());
        if (b == null) {
            LOG.error("(XEN) Unable to find PCI bridge for {}", sbdf);
            return false;
        }
        if (Long.compareUnsigned(startMfn, endMfn) > 0) {
            return false;
        }
        long first = startMfn << 12;
        long last = ((endMfn + 1) << 12) - 1;
        for (PciRange r : b.ranges()) {
            if (r.containsCpu(first, last)) {
                return true;
            }
        }
        return false;
    }

    /** {@link #pciCheckBar(Sbdf, long, long)} for a pdev. */
    public boolean pciCheckBar(Pdev pdev, long startMfn, long endMfn) {
        return pciCheckBar(pdev.sbdf(), startMfn, endMfn);
    }

    PciDomainNumbering numbering() {
        return numbering;
    }

    /** vpci_assign_device over all listeners; on failure those already assigned are deassigned, in reverse. */
    int vpciAssign(Pdev pdev) {
        for (int i = 0; i < listeners.size(); i++) {
            int rc = listeners.get(i).vpciAssign(pdev);
            if (rc != 0) {
                for (int j = i - 1; j >= 0; j--) {
                    listeners.get(j).vpciDeassign(pdev);
                }
                return rc;
            }
        }
        return 0;
    }

    void vpciDeassign(Pdev pdev) {
        for (int i = listeners.size() - 1; i >= 0; i--) {
            listeners.get(i).vpciDeassign(pdev);
        }
    }

    void pdevRemoved(Pdev pdev) {
        for (PdevListener l : listeners) {
            l.pdevRemoved(pdev);
        }
    }
}
