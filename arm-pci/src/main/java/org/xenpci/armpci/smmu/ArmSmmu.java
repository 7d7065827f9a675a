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
 * The SMMUv3 as a {@link XenExtension} ({@code iommu_setup} for the SMMUv3 driver): at
 * {@link #init} it finds host DT nodes compatible with {@value #COMPATIBLE} that are available
 * (no {@code status}, or {@code "okay"} / {@code "ok"}). If there is at least one and the
 * command line does not say {@code iommu=0/no/off/false}, it enables the IOMMU
 * ({@code xen.iommuEnabled(true)}) and publishes an {@link SmmuV3Driver} both as
 * {@code PciIommu} (which {@code ArmPci} installs on its layer) and as {@code SmmuV3Driver}
 * (the query API).
 *
 * <p><b>Must be added to the {@code Xen} builder BEFORE {@code ArmPci}</b>: Xen sets up the
 * IOMMU before the PCI initcall, and {@code ArmPci.init} both opens its gate on
 * {@code iommuEnabled} and picks the {@code PciIommu} service up.
 *
 * <p>The SMMU itself is hardware ({@link SmmuV3}, built by {@code Platform}): a node whose
 * {@code reg} has no SMMUv3 on the bus is ignored with a warning. Taking an SMMU sets its
 * SMMUEN (translation starts; until then its DMA bypasses) and points its fault records at
 * Xen's trace.
 *
 * <p>Only PCI masters are modelled (platform devices with {@code iommus} are not).
 */
public final class ArmSmmu implements XenExtension {
    private static final Logger LOG = LoggerFactory.getLogger(ArmSmmu.class);

    /** The DT compatible string Xen's SMMUv3 driver matches. */
    public static final String COMPATIBLE = "arm,smmu-v3";

    private volatile SmmuV3Driver driver;

    /** The driver once {@link #init} enabled the IOMMU; empty if no SMMU was found or it was disabled. */
    public Optional<SmmuV3Driver> driver() {
        return Optional.ofNullable(driver);
    }

    @Override
    public void init(Xen xen) {
        List<SmmuV3> found = probe(xen);
        if (found.isEmpty()) {
            LOG.debug("no available {} node in the host DT; IOMMU stays off", COMPATIBLE);
            return;
        }
        if (!xen.bootOptions().iommu().orElse(Boolean.TRUE)) {
            LOG.debug("IOMMU disabled on the command line; {} SMMUv3 left alone", found.size());
            return;
        }
        for (SmmuV3 s : found) {
            s.trace(xen.trace());
            s.enable();
        }
        SmmuV3Driver d = new SmmuV3Driver(xen, found);
        xen.iommuEnabled(true);
        xen.publish(PciIommu.class, d);
        xen.publish(SmmuV3Driver.class, d);
        this.driver = d;
        for (SmmuV3 s : found) {
            LOG.debug("SMMUv3 {} at 0x{} ({} stream ID bits)", s.path(), Long.toHexString(s.base()), s.sidBits());
        }
    }

    private static List<SmmuV3> probe(Xen xen) {
        Fdt dt = xen.hardware().deviceTree();
        List<SmmuV3> out = new ArrayList<>();
        // A property of the wrong shape stops the boot with a BootException naming the node.
        dt.forEachNode((path, node) -> BootException.readingNode(path, () -> {
            if (!isCompatible(node) || !available(node)) {
                return null;
            }
            // Xen ioremaps the node's reg: the SMMU is whatever answers there on the bus.
            long base = regBase(dt, path, node);
            PhysicalAddressSpace.Region r = base < 0 ? null : xen.hardware().addressSpace().find(base);
            if (r == null || !(r.device() instanceof SmmuV3 s)) {
                LOG.warn("{}: no SMMUv3 answers at {}; ignored", path, Hex.of(base));
                return null;
            }
            out.add(s);
            return null;
        }));
        return out;
    }

    private static boolean isCompatible(FdtNode node) {
        return node.property("compatible").map(p -> p.asStringList().contains(COMPATIBLE)).orElse(false);
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
