package org.xenpci.armpci.smmu;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.PciIommu;
import org.xenpci.core.BootException;
import org.xenpci.core.Hex;
import org.xenpci.core.PhysicalAddressSpace;
import org.xenpci.core.Xen;
import org.xenpci.core.XenExtension;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

/**
 * Xen's Arm IOMMU setup ({@code iommu_hardware_setup}, xen/drivers/passthrough/arm/iommu.c) for
 * its two SMMU drivers, as a {@link XenExtension}: at {@link #init} it walks the host DT in
 * order and hands every available node (no {@code status}, or {@code "okay"} / {@code "ok"})
 * to the driver whose compatibles it carries: {@value #COMPATIBLE} to the SMMUv3 driver
 * (smmu-v3.c), {@link SmmuV2Driver#COMPATIBLES} to the SMMUv1/v2 driver (smmu.c). If the
 * command line does not say {@code iommu=0/no/off/false} and at least one SMMU probed, it
 * enables the IOMMU ({@code xen.iommuEnabled(true)}) and publishes the driver as
 * {@code PciIommu} (which {@code ArmPci} installs on its layer) and under its own class
 * ({@link SmmuV3Driver} or {@link SmmuV2Driver}, the query APIs).
 *
 * <p>Xen's {@code iommu_ops} are global and {@code iommu_set_ops} refuses a second, different
 * set ("Cannot set IOMMU ops, already set to a different value"): the driver of the first node
 * that probes in DT order serves every PCI device. SMMUs of the other family are still probed
 * and reset by their driver (so they fault or abort unconfigured streams), but no device
 * behind them can be added.
 *
 * <p><b>Must be added to the {@code Xen} builder BEFORE {@code ArmPci}</b>: Xen sets up the
 * IOMMU before the PCI initcall, and {@code ArmPci.init} both opens its gate on
 * {@code iommuEnabled} (so with {@code pci-passthrough} off the host bridges are still
 * registered, as Xen 4.21+'s {@code pci_init} does when an IOMMU is enabled) and picks the
 * {@code PciIommu} service up.
 *
 * <p>The SMMUs themselves are hardware ({@link SmmuV3}, {@link SmmuV2}, built by
 * {@code Platform}): a node whose {@code reg} has no SMMU of its family on the bus is ignored
 * with a warning. Taking an SMMUv3 sets its SMMUEN; an SMMUv1/v2 gets Xen's reset (S2CRs fault,
 * sCR0.CLIENTPD clear, USFCFG set). Both trace their faults to Xen's trace.
 *
 * <p>Only PCI masters are modelled (platform devices with {@code iommus} or the legacy
 * {@code mmu-masters} are not).
 */
public final class ArmSmmu implements XenExtension {
    private static final Logger LOG = LoggerFactory.getLogger(ArmSmmu.class);

    /** The DT compatible string Xen's SMMUv3 driver matches. */
    public static final String COMPATIBLE = "arm,smmu-v3";

    private volatile SmmuV3Driver driver;
    private volatile PciIommu iommu;

    /** The SMMUv3 driver once {@link #init} enabled the IOMMU with it; empty otherwise. */
    public Optional<SmmuV3Driver> driver() {
        return Optional.ofNullable(driver);
    }

    /** The IOMMU driver (v3 or v2) {@link #init} enabled; empty if no SMMU probed or the IOMMU is off. */
    public Optional<PciIommu> iommu() {
        return Optional.ofNullable(iommu);
    }

    @Override
    public void init(Xen xen) {
        Fdt dt = xen.hardware().deviceTree();
        List<SmmuV3> v3 = new ArrayList<>();
        List<SmmuV2Driver.Smmu> v2 = new ArrayList<>();
        List<String> order = new ArrayList<>(); // family of each probed node, DT order
        boolean on = xen.bootOptions().iommu().orElse(Boolean.TRUE);
        // A property of the wrong shape stops the boot with a BootException naming the node.
        dt.forEachNode((path, node) -> BootException.readingNode(path, () -> {
            List<String> compat = node.property("compatible").map(FdtProperty::asStringList).orElse(List.of());
            boolean isV3 = compat.contains(COMPATIBLE);
            boolean isV2 = compat.stream().anyMatch(SmmuV2Driver.COMPATIBLES::containsKey);
            if ((!isV3 && !isV2) || !available(node)) {
                return null;
            }
            // Xen ioremaps the node's reg: the SMMU is whatever answers there on the bus.
            long base = regBase(dt, path, node);
            PhysicalAddressSpace.Region r = base < 0 ? null : xen.hardware().addressSpace().find(base);
            Object dev = r == null ? null : r.device();
            if (isV3 && dev instanceof SmmuV3 s) {
                v3.add(s);
                order.add("v3");
            } else if (isV2 && dev instanceof SmmuV2 s) {
                if (on) {
                    SmmuV2Driver.probe(dt, path, node, s).ifPresent(sm -> {
                        v2.add(sm);
                        order.add("v2");
                    });
                } else {
                    order.add("v2");
                }
            } else {
                LOG.warn("{}: no {} answers at {}; ignored", path, isV3 ? "SMMUv3" : "SMMUv1/v2", Hex.of(base));
            }
            return null;
        }));
        if (order.isEmpty()) {
            LOG.debug("no available SMMU node in the host DT; IOMMU stays off");
            return;
        }
        if (!on) {
            LOG.debug("IOMMU disabled on the command line; {} SMMU(s) left alone", order.size());
            return;
        }
        for (SmmuV3 s : v3) {
            s.trace(xen.trace());
            s.enable();
        }
        for (SmmuV2Driver.Smmu s : v2) {
            s.hw.trace(xen.trace());
        }
        String first = order.get(0);
        if (order.stream().anyMatch(f -> !f.equals(first))) {
            LOG.warn("(XEN) WARNING: Cannot set IOMMU ops, already set to a different value ({} SMMUs serve no device)",
                    first.equals("v3") ? "SMMUv1/v2" : "SMMUv3");
        }
        xen.iommuEnabled(true);
        if (first.equals("v3")) {
            SmmuV3Driver d = new SmmuV3Driver(xen, v3);
            xen.publish(PciIommu.class, d);
            xen.publish(SmmuV3Driver.class, d);
            this.driver = d;
            this.iommu = d;
        } else {
            SmmuV2Driver d = SmmuV2Driver.of(xen, v2);
            xen.publish(PciIommu.class, d);
            xen.publish(SmmuV2Driver.class, d);
            this.iommu = d;
        }
        for (SmmuV3 s : v3) {
            LOG.debug("SMMUv3 {} at 0x{} ({} stream ID bits)", s.path(), Long.toHexString(s.base()), s.sidBits());
        }
    }

    /** {@code dt_device_is_available}: no status, or "okay" / "ok". */
    private static boolean available(FdtNode node) {
        Optional<FdtProperty> status = node.property("status");
        if (status.isEmpty()) {
            return true;
        }
        String s = status.get().asString();
        return s.equals("okay") || s.equals("ok");
    }

    /** First reg address with the parent's #address-cells (not translated through ranges; informative). */
    private static long regBase(Fdt dt, String path, FdtNode node) {
        int slash = path.lastIndexOf('/');
        String parentPath = slash <= 0 ? "/" : path.substring(0, slash);
        FdtNode parent = dt.node(parentPath).orElse(dt.root());
        int ac = BootException.readingNode(parentPath, () -> parent.u32("#address-cells").orElse(2));
        Optional<FdtProperty> reg = node.property("reg");
        if (reg.isEmpty() || reg.get().cellCount() < ac) {
            return -1;
        }
        return reg.get().asLong(0, ac);
    }
}
