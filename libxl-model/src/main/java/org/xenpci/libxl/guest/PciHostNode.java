package org.xenpci.libxl.guest;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.xenpci.core.BootException;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

/**
 * A guest OS's reading of one PCI host bridge node of its device tree, as Linux's
 * {@code pci-host-common} / {@code of_pci} code reads it (Documentation/devicetree/bindings/pci/
 * host-generic-pci.yaml, xlnx,nwl-pcie.yaml): the config window, the bus range, the domain
 * number and the outbound windows of {@code ranges}.
 *
 * @param path node path
 * @param cfgBase CPU address of the config (ECAM) window
 * @param cfgSize its size in bytes
 * @param busStart first bus ({@code bus-range}, default 0)
 * @param busEnd last bus (default 255)
 * @param domain {@code linux,pci-domain}, or -1 when absent
 * @param windows the {@code ranges} entries
 * @param designWare the DesignWare regions of an R-Car Gen4 node (rcar-gen4-pci-host.yaml); for
 *        it {@code cfgBase}/{@code cfgSize} are the {@code dbi} region
 */
public record PciHostNode(String path, long cfgBase, long cfgSize, int busStart, int busEnd, int domain,
        List<Window> windows, Optional<DesignWare> designWare) {

    /** Compatible strings the reference guests drive. */
    public static final List<String> DRIVEN = List.of("pci-host-ecam-generic", "xlnx,nwl-pcie-2.11",
            "renesas,r8a779f0-pcie", "renesas,r8a779g0-pcie");

    /** The R-Car Gen4 compatibles (DesignWare core). */
    public static final List<String> DESIGNWARE = List.of("renesas,r8a779f0-pcie", "renesas,r8a779g0-pcie");

    /** A DesignWare controller's regions, by {@code reg-names}: dbi, atu and config. */
    public record DesignWare(long dbiBase, long dbiSize, long atuBase, long atuSize, long configBase, long configSize) {
    }

    /** Address space of a {@code ranges} entry, from phys.hi bits 25:24 (IEEE 1275 PCI binding). */
    public enum Space { CONFIG, IO, MEM32, MEM64 }

    /**
     * One {@code ranges} entry: PCI bus address {@code pciBase} appears at CPU address
     * {@code cpuBase} for {@code size} bytes.
     */
    public record Window(Space space, boolean prefetchable, long pciBase, long cpuBase, long size) {
        /** Translates a CPU address inside the window to the PCI bus address. */
        public long toPci(long cpu) {
            return cpu - cpuBase + pciBase;
        }
    }

    /** Every enabled host bridge node the reference guests can drive, in DT order. */
    public static List<PciHostNode> find(Fdt dt) {
        List<PciHostNode> out = new ArrayList<>();
        // A property of the wrong shape is a BootException naming the node: the guest cannot
        // make sense of the tree it was given.
        dt.forEachNode((path, node) -> BootException.readingNode(path, () -> {
            if (!isPciHost(node) || !okay(node) || parentIsPci(dt, path)) {
                return null;
            }
            List<String> compatible = node.property("compatible").map(FdtProperty::asStringList).orElse(List.of());
            if (compatible.stream().noneMatch(DRIVEN::contains)) {
                return null;
            }
            out.add(parse(dt, path, node, compatible.contains("xlnx,nwl-pcie-2.11") ? "cfg"
                    : compatible.stream().anyMatch(DESIGNWARE::contains) ? "dbi" : null));
            return null;
        }));
        return out;
    }

    private static boolean isPciHost(FdtNode n) {
        return n.property("device_type").map(p -> p.asString().equals("pci")).orElse(false);
    }

    private static boolean okay(FdtNode n) {
        return n.property("status").map(p -> p.asString().equals("okay") || p.asString().equals("ok")).orElse(true);
    }

    private static boolean parentIsPci(Fdt dt, String path) {
        return BootException.readingNode(parentPath(path), () -> parent(dt, path).map(PciHostNode::isPciHost).orElse(false));
    }

    private static String parentPath(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    private static Optional<FdtNode> parent(Fdt dt, String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? Optional.of(dt.root()) : dt.node(path.substring(0, slash));
    }

    private static PciHostNode parse(Fdt dt, String path, FdtNode node, String cfgName) {
        FdtNode parent = parent(dt, path).orElseThrow();
        int pac = BootException.readingNode(parentPath(path), () -> parent.u32("#address-cells").orElse(2));
        int psc = BootException.readingNode(parentPath(path), () -> parent.u32("#size-cells").orElse(1));
        FdtProperty reg = node.property("reg").orElse(FdtProperty.empty("reg"));
        int index = 0;
        List<String> names = node.property("reg-names").map(FdtProperty::asStringList).orElse(List.of());
        if (cfgName != null) {
            index = names.indexOf(cfgName);
        }
        int stride = pac + psc;
        if (index < 0 || (index + 1) * stride > reg.cellCount()) {
            throw BootException.badProperty(path, "reg", "no config window");
        }
        long cfgBase = reg.asLong(index * stride, pac);
        long cfgSize = reg.asLong(index * stride + pac, psc);
        int busStart = 0;
        int busEnd = 255;
        Optional<FdtProperty> br = node.property("bus-range");
        if (br.isPresent() && br.get().length() >= 8) {
            busStart = br.get().asCells()[0] & 0xff;
            busEnd = br.get().asCells()[1] & 0xff;
        }
        java.util.OptionalInt dom = node.u32("linux,pci-domain");
        if (dom.isPresent() && (dom.getAsInt() < 0 || dom.getAsInt() > 0xffff)) {
            throw BootException.badProperty(path, "linux,pci-domain", "segment "
                    + Integer.toUnsignedString(dom.getAsInt()) + " is outside 0..0xffff");
        }
        int domain = dom.orElse(-1);
        int nsc = node.u32("#size-cells").orElse(2);
        FdtProperty ranges = node.property("ranges").orElse(FdtProperty.empty("ranges"));
        List<Window> windows = new ArrayList<>();
        int entry = 3 + pac + nsc;
        for (int i = 0; i + entry <= ranges.cellCount(); i += entry) {
            long hi = ranges.asLong(i, 1);
            Space space = Space.values()[(int) (hi >>> 24) & 3];
            boolean pref = (hi & 0x40000000) != 0;
            windows.add(new Window(space, pref, ranges.asLong(i + 1, 2), ranges.asLong(i + 3, pac),
                    ranges.asLong(i + 3 + pac, nsc)));
        }
        Optional<DesignWare> dw = Optional.empty();
        if ("dbi".equals(cfgName)) {
            int atu = names.indexOf("atu");
            int config = names.indexOf("config");
            if (atu < 0 || config < 0 || (Math.max(atu, config) + 1) * stride > reg.cellCount()) {
                throw BootException.badProperty(path, "reg-names", "a DesignWare node needs \"atu\" and \"config\" reg entries");
            }
            dw = Optional.of(new DesignWare(cfgBase, cfgSize, reg.asLong(atu * stride, pac), reg.asLong(atu * stride + pac, psc),
                    reg.asLong(config * stride, pac), reg.asLong(config * stride + pac, psc)));
        }
        return new PciHostNode(path, cfgBase, cfgSize, busStart, busEnd, domain, List.copyOf(windows), dw);
    }

    /** The first window of a space, preferring the given prefetchability. */
    public Optional<Window> window(Space space, boolean prefetchable) {
        Optional<Window> exact = windows.stream().filter(w -> w.space() == space && w.prefetchable() == prefetchable).findFirst();
        return exact.isPresent() ? exact : windows.stream().filter(w -> w.space() == space).findFirst();
    }
}
