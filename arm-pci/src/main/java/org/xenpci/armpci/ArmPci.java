package org.xenpci.armpci;

import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.core.Domain;
import org.xenpci.core.Xen;
import org.xenpci.core.XenExtension;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.trace.TraceCategory;

/**
 * The {@link XenExtension} that puts Xen's Arm PCI layer into a booted {@link Xen}:
 * <ol>
 *   <li>{@link #init}: {@code pci_init} (DT host bridge discovery) if the runtime gate is open
 *       ({@code pci-passthrough=on} or the IOMMU enabled; xen/arch/arm/pci/pci.c: pci_init), publishes
 *       {@link ArmPciLayer}, and registers PHYSDEVOP_pci_device_add/remove/reset (registered
 *       even with the gate closed: they then return -EOPNOTSUPP);</li>
 *   <li>{@link #hardwareDomainDeviceTree}: adds {@code linux,pci-domain} to host bridge nodes
 *       (only with {@code pci-passthrough=on});</li>
 *   <li>{@link #domainCreated}: maps the hardware domain's host bridge regions (xen/arch/arm/pci/pci-host-common.c: pci_host_bridge_mappings);</li>
 *   <li>{@link #domainRelinquishResources}: {@code pci_release_devices}.</li>
 * </ol>
 * {@link #init} also registers XEN_DOMCTL_assign_device / test_assign_device /
 * deassign_device (always, like the PHYSDEVOPs; without an IOMMU they return -EOPNOTSUPP) and
 * installs a {@link PciIommu} service, if an IOMMU extension published one, on the layer.
 * ACPI is not modelled: discovery is DT only. An IOMMU extension must be added to the builder
 * BEFORE this one, so that {@code xen.iommuEnabled()} is set when {@code pci_init} runs (Xen
 * sets up the IOMMU before initcalls).
 */
public final class ArmPci implements XenExtension {
    private static final Logger LOG = LoggerFactory.getLogger(ArmPci.class);

    private final List<HostBridgeDriver> drivers;
    private volatile boolean iommuQuarantine = true;
    private volatile ArmPciLayer layer;
    private volatile PciAssignment assignment;

    /** With Xen's arm64 host bridge drivers: generic ECAM, ZynqMP NWL and R-Car Gen4 (DesignWare). */
    public ArmPci() {
        this(HostBridgeDriver.DEFAULTS);
    }

    /** With an explicit driver list, probed in the given order. */
    public ArmPci(List<HostBridgeDriver> drivers) {
        this.drivers = List.copyOf(drivers);
    }

    /**
     * Sets Xen's global {@code iommu_quarantine} before boot (default on: Kconfig
     * IOMMU_QUARANTINE_BASIC). Off models {@code iommu=no-quarantine}, which core's command-line
     * parser does not read: devices deassigned from a domU then go back to the hardware domain
     * unless the toolstack quarantined them.
     *
     * @return this
     */
    public ArmPci iommuQuarantine(boolean on) {
        this.iommuQuarantine = on;
        return this;
    }

    /** The layer once {@link #init} has run. */
    public Optional<ArmPciLayer> layer() {
        return Optional.ofNullable(layer);
    }

    @Override
    public void init(Xen xen) {
        boolean gate = xen.bootOptions().pciPassthrough() || xen.iommuEnabled();
        PciDomainNumbering numbering = new PciDomainNumbering();
        HostBridgeDiscovery.Result found = new HostBridgeDiscovery.Result(List.of(), Optional.empty());
        if (gate) {
            found = new HostBridgeDiscovery(drivers, numbering, xen.trace(), xen.hardware().addressSpace()).discover(xen.hardware().deviceTree());
        } else {
            LOG.debug("pci_init: PCI passthrough disabled and no IOMMU; no host bridges probed");
        }
        HostBridges bridges = new HostBridges(found.bridges());
        PciConf conf = new HostPciConf(bridges, xen.hardware().addressSpace(), xen.profile().pciErrValueQuirk());
        PdevRegistry pdevs = new PdevRegistry(xen.pcidevsLock(), conf);
        if (gate) {
            // pci_init creates segment 0 up front (it panics if it cannot).
            xen.pcidevsLock().lock();
            try {
                pdevs.segment(0);
            } finally {
                xen.pcidevsLock().unlock();
            }
        }
        ArmPciLayer l = new ArmPciLayer(gate, bridges, conf, pdevs, found.failure().orElse(null), numbering);
        if (xen.trace().enabled(TraceCategory.DEVICE)) {
            for (HostBridge b : bridges.all()) {
                xen.trace().emit(new ArmPciEvents.HostBridgeRegistered(b.path(), b.segment(), b.cfg().physBase(),
                        b.cfg().size(), b.cfg().busStart(), b.cfg().busEnd()));
            }
        }
        // An IOMMU extension added before us publishes its driver; Xen's iommu_ops are global.
        xen.service(PciIommu.class).ifPresent(l::iommu);
        xen.publish(ArmPciLayer.class, l);
        new PhysdevOps(xen, l).register();
        PciAssignment a = new PciAssignment(xen, l, iommuQuarantine);
        a.register();
        this.assignment = a;
        this.layer = l;
    }

    @Override
    public Fdt hardwareDomainDeviceTree(Xen xen, Fdt dt) {
        if (!xen.bootOptions().pciPassthrough()) {
            return dt;
        }
        return LinuxPciDomainFixup.apply(dt, requireLayer());
    }

    @Override
    public void domainCreated(Domain domain) {
        if (domain.isHardwareDomain()) {
            HwdomPciMappings.map(domain, requireLayer(), domain.xen().profile().vpciHardwareDomain());
        }
    }

    /**
     * {@code pci_release_devices}: every device the dying domain owns is deassigned (to dom_io
     * under the default quarantine mode, else to the hardware domain); ones that fail stay with
     * it and the first error is logged and traced ({@link ArmPciEvents.PdevReleaseFailed}).
     */
    @Override
    public void domainRelinquishResources(Domain domain) {
        PciAssignment a = assignment;
        if (a != null) {
            a.releaseDevices(domain);
        }
    }

    private ArmPciLayer requireLayer() {
        ArmPciLayer l = layer;
        if (l == null) {
            throw new IllegalStateException("ArmPci used before init");
        }
        return l;
    }
}
