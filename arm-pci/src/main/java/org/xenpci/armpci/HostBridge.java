package org.xenpci.armpci;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.LoggerFactory;
import org.xenpci.armpci.hw.HardwareConfigException;
import org.xenpci.armpci.hw.MsiMap;
import org.xenpci.core.fdt.FdtNode;

/**
 * A host bridge Xen discovered and registered ({@code struct pci_host_bridge},
 * xen/arch/arm/include/asm/pci.h): its DT node, segment, config windows, the DT {@code reg}
 * entries and {@code ranges} apertures, and the raw MSI/IOMMU mapping properties later layers
 * need.
 *
 * <p>Immutable and therefore thread-safe; the list of bridges never changes after boot.
 */
public final class HostBridge {
    private final String path;
    private final FdtNode node;
    private final List<String> compatible;
    private final String driver;
    private final int segment;
    private final EcamWindow cfg;
    private final EcamWindow childCfg;
    private final List<RegEntry> regs;
    private final List<PciRange> ranges;
    private final int[] msiMap;
    private final int[] msiMapMask;
    private final int[] msiParent;
    private final int[] iommuMap;
    private final int[] iommuMapMask;
    private final MsiMap msiMapping;
    /** Xen's DesignWare private data ({@code bridge->priv}), set by the R-Car probe; null otherwise. */
    private volatile DesignWarePcie designWare;

    HostBridge(DtContext ctx, String driver, int segment, EcamWindow cfg, EcamWindow childCfg, List<RegEntry> regs,
            List<PciRange> ranges) {
        this.path = ctx.path;
        this.node = ctx.node;
        this.compatible = ctx.strings("compatible");
        this.driver = Objects.requireNonNull(driver, "driver");
        this.segment = segment;
        this.cfg = Objects.requireNonNull(cfg, "cfg");
        this.childCfg = childCfg;
        this.regs = List.copyOf(regs);
        this.ranges = List.copyOf(ranges);
        this.msiMap = ctx.cells("msi-map").orElse(null);
        this.msiMapMask = ctx.cells("msi-map-mask").orElse(null);
        this.msiParent = ctx.cells("msi-parent").orElse(null);
        this.iommuMap = ctx.cells("iommu-map").orElse(null);
        this.iommuMapMask = ctx.cells("iommu-map-mask").orElse(null);
        MsiMap m;
        try {
            m = MsiMap.of(msiMap, msiMapMask, msiParent);
        } catch (HardwareConfigException e) {
            // Linux and Xen treat a malformed map as "no translation" for the device, not a boot failure.
            LoggerFactory.getLogger(HostBridge.class).warn("{}: ignoring malformed MSI mapping: {}", path, e.getMessage());
            m = MsiMap.NONE;
        }
        this.msiMapping = m;
    }

    /** Absolute DT path, e.g. {@code /axi/pcie@fd0e0000}. */
    public String path() {
        return path;
    }

    /** The host DT node as Xen saw it at boot. */
    public FdtNode node() {
        return node;
    }

    /** The node's {@code compatible} strings, in DT order. */
    public List<String> compatible() {
        return compatible;
    }

    /** DesignWare child-bus ops and R-Car OSID state, once the R-Car probe has set them. */
    DesignWarePcie designWare() {
        return designWare;
    }

    void designWare(DesignWarePcie dw) {
        this.designWare = dw;
    }

    /** Name of the Xen driver that probed it ({@code "generic"}, {@code "zynqmp-nwl"} or {@code "rcar4"}). */
    public String driver() {
        return driver;
    }

    /** PCI segment (Xen's u16 {@code segment}), from {@code linux,pci-domain} or auto-numbered. */
    public int segment() {
        return segment;
    }

    /** The root config window ({@code bridge->cfg}). */
    public EcamWindow cfg() {
        return cfg;
    }

    /**
     * The child-bus config window ({@code bridge->child_cfg}): only DesignWare (R-Car Gen4) bridges
     * have one: the {@code config} reg entry, buses root start + 1 .. the DT bus-range end.
     */
    public Optional<EcamWindow> childCfg() {
        return Optional.ofNullable(childCfg);
    }

    /** Every DT {@code reg} entry, translated to machine addresses, in DT order. */
    public List<RegEntry> regs() {
        return regs;
    }

    /** The parsed DT {@code ranges} (PCI to CPU apertures), in DT order; empty if absent or malformed. */
    public List<PciRange> ranges() {
        return ranges;
    }

    /** Raw {@code msi-map} cells, if present (a copy). */
    public Optional<int[]> msiMap() {
        return copy(msiMap);
    }

    /** Raw {@code msi-map-mask} cells, if present (a copy). */
    public Optional<int[]> msiMapMask() {
        return copy(msiMapMask);
    }

    /** Raw {@code msi-parent} cells, if present (a copy). */
    public Optional<int[]> msiParent() {
        return copy(msiParent);
    }

    /**
     * The parsed {@code msi-map} / {@code msi-map-mask} / {@code msi-parent} (Linux
     * {@code of_map_id} semantics, see {@link MsiMap}); {@link MsiMap#NONE} if absent or malformed.
     */
    public MsiMap msiMapping() {
        return msiMapping;
    }

    /** Raw {@code iommu-map} cells, if present (a copy). */
    public Optional<int[]> iommuMap() {
        return copy(iommuMap);
    }

    /** Raw {@code iommu-map-mask} cells, if present (a copy). */
    public Optional<int[]> iommuMapMask() {
        return copy(iommuMapMask);
    }

    /**
     * Whether {@code bus} is served by this bridge: the child range first, then the root range
     * (Xen's {@code pci_find_host_bridge} match). Allocation-free.
     */
    public boolean coversBus(int bus) {
        return (childCfg != null && childCfg.covers(bus)) || cfg.covers(bus);
    }

    /** The window that serves {@code bus}: child if it covers it, else the root (may not cover it). */
    public EcamWindow windowFor(int bus) {
        return childCfg != null && childCfg.covers(bus) ? childCfg : cfg;
    }

    private static Optional<int[]> copy(int[] cells) {
        return cells == null ? Optional.empty() : Optional.of(cells.clone());
    }

    @Override
    public String toString() {
        return "HostBridge[" + path + ", seg " + segment + ", " + cfg + "]";
    }
}
