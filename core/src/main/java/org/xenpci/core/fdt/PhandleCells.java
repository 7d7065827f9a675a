package org.xenpci.core.fdt;

import java.util.Map;
import java.util.OptionalInt;

/**
 * Finds which cells of a property are phandles, for properties whose layout the bindings
 * define. Used by {@link DtsWriter} to print {@code &label} references, which dtc requires in
 * the properties it checks ("cell N is not a phandle reference").
 *
 * <p>Every layout must consume the whole value exactly; otherwise (unknown target, missing
 * {@code #...-cells}, length mismatch) the answer is "no phandles" and the caller prints raw
 * cells. Never throws on odd input.
 */
final class PhandleCells {
    /**
     * Phandle + arguments lists and the provider property holding the argument count; the list
     * dtc 1.6.1's checks.c validates with {@code WARNING_PROPERTY_PHANDLE_CELLS}.
     */
    private static final Map<String, String> PROVIDER_CELLS = Map.ofEntries(
            Map.entry("clocks", "#clock-cells"),
            Map.entry("cooling-device", "#cooling-cells"),
            Map.entry("dmas", "#dma-cells"),
            Map.entry("hwlocks", "#hwlock-cells"),
            Map.entry("interrupts-extended", "#interrupt-cells"),
            Map.entry("io-channels", "#io-channel-cells"),
            Map.entry("iommus", "#iommu-cells"),
            Map.entry("mboxes", "#mbox-cells"),
            Map.entry("msi-parent", "#msi-cells"),
            Map.entry("mux-controls", "#mux-control-cells"),
            Map.entry("phys", "#phy-cells"),
            Map.entry("power-domains", "#power-domain-cells"),
            Map.entry("pwms", "#pwm-cells"),
            Map.entry("resets", "#reset-cells"),
            Map.entry("sound-dai", "#sound-dai-cells"),
            Map.entry("thermal-sensors", "#thermal-sensor-cells"));

    /** Resolves a phandle value to its node. */
    interface Targets {
        /**
         * Returns the node with that phandle, or null.
         *
         * @param phandle phandle value
         * @return the node or null
         */
        FdtNode node(int phandle);
    }

    private PhandleCells() {
    }

    /**
     * Returns a mask of the cells of {@code prop} that are phandles of known nodes, or null when
     * the property has no phandle layout or its value does not fit the layout.
     */
    static boolean[] phandleMask(FdtNode owner, FdtProperty prop, Targets targets) {
        if (prop.length() == 0 || prop.length() % 4 != 0) {
            return null;
        }
        int[] cells = prop.asCells();
        String name = prop.name();
        try {
            if (name.equals("interrupt-parent")) {
                return cells.length == 1 && targets.node(cells[0]) != null ? new boolean[] {true} : null;
            }
            if (name.equals("interrupt-map")) {
                return interruptMap(owner, cells, targets);
            }
            if (name.equals("msi-map") || name.equals("iommu-map")) {
                return idMap(cells, targets);
            }
            String cellsProp = PROVIDER_CELLS.get(name);
            if (cellsProp == null && isGpioList(name)) {
                cellsProp = "#gpio-cells";
            }
            if (cellsProp != null) {
                // msi-parent's #msi-cells is optional and defaults to 0 (msi-controller binding).
                return phandleArgs(cells, targets, cellsProp, name.equals("msi-parent") ? 0 : -1);
            }
        } catch (FdtValueException e) {
            return null; // a malformed #...-cells on the target: print raw cells
        }
        return null;
    }

    /** {@code gpios}, {@code foo-gpios} and the deprecated {@code foo-gpio}, as dtc's gpios check. */
    private static boolean isGpioList(String name) {
        if (name.equals("nr-gpios")) {
            return false;
        }
        return name.equals("gpios") || name.endsWith("-gpios") || name.endsWith("-gpio");
    }

    private static boolean[] phandleArgs(int[] cells, Targets targets, String cellsProp, int defaultCount) {
        boolean[] mask = new boolean[cells.length];
        int i = 0;
        while (i < cells.length) {
            int ph = cells[i];
            if (ph == 0 || ph == -1) {
                // dtc and Linux treat 0 / -1 as an empty slot of a single cell.
                i++;
                continue;
            }
            FdtNode target = targets.node(ph);
            if (target == null) {
                return null;
            }
            int n = count(target, cellsProp, defaultCount);
            if (n < 0 || (long) i + 1 + n > cells.length) {
                return null;
            }
            mask[i] = true;
            i += 1 + n;
        }
        return mask;
    }

    /**
     * {@code interrupt-map} entries (Devicetree Specification v0.4, 2.4.3.1): child unit address
     * (this node's {@code #address-cells}, dtc's default 2), child interrupt specifier
     * ({@code #interrupt-cells}), parent phandle, parent unit address (parent's
     * {@code #address-cells}, default 0 as in Linux {@code of_irq_parse_raw}), parent interrupt
     * specifier (parent's {@code #interrupt-cells}).
     */
    private static boolean[] interruptMap(FdtNode owner, int[] cells, Targets targets) {
        int childAddr = count(owner, "#address-cells", 2);
        int childIntr = count(owner, "#interrupt-cells", -1);
        if (childAddr < 0 || childIntr < 0) {
            return null;
        }
        boolean[] mask = new boolean[cells.length];
        int i = 0;
        while (i < cells.length) {
            int at = i + childAddr + childIntr;
            if (at >= cells.length) {
                return null;
            }
            FdtNode parent = targets.node(cells[at]);
            if (parent == null) {
                return null;
            }
            int parentAddr = count(parent, "#address-cells", 0);
            int parentIntr = count(parent, "#interrupt-cells", -1);
            if (parentAddr < 0 || parentIntr < 0 || (long) at + 1 + parentAddr + parentIntr > cells.length) {
                return null;
            }
            mask[at] = true;
            i = at + 1 + parentAddr + parentIntr;
        }
        return mask;
    }

    /**
     * {@code msi-map} / {@code iommu-map} (Linux pci-msi and pci-iommu bindings): entries of
     * (rid-base, phandle, target-base, length), one cell each, as Linux {@code of_map_id} reads
     * them.
     */
    private static boolean[] idMap(int[] cells, Targets targets) {
        if (cells.length % 4 != 0) {
            return null;
        }
        boolean[] mask = new boolean[cells.length];
        for (int i = 0; i < cells.length; i += 4) {
            if (targets.node(cells[i + 1]) == null) {
                return null;
            }
            mask[i + 1] = true;
        }
        return mask;
    }

    /** Returns the single-cell property, the default if absent, or -1 if absent without default or absurd. */
    private static int count(FdtNode node, String prop, int defaultCount) {
        OptionalInt v = node.u32(prop);
        if (v.isEmpty()) {
            return defaultCount;
        }
        int n = v.getAsInt();
        return n < 0 || n > 1024 ? -1 : n;
    }
}
