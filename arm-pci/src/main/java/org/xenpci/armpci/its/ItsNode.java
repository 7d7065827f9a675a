package org.xenpci.armpci.its;

import java.util.ArrayList;
import java.util.List;
import org.xenpci.core.BootException;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtNode;

/**
 * An enabled GICv3 ITS as the device tree describes it ({@code compatible = "arm,gic-v3-its"},
 * Linux binding arm,gic-v3.yaml): its node path, phandle (the target of {@code msi-map} /
 * {@code msi-parent}) and base address (first {@code reg} entry, read with the parent's
 * {@code #address-cells}; the GIC node's empty {@code ranges} makes it a CPU address). Used by
 * both the board builder (which creates the hardware) and Xen's ITS driver (which drives it).
 *
 * @param phandle the node's phandle, or -1 if it has none
 */
public record ItsNode(String path, int phandle, long base) {

    /** Every enabled ITS node, in DT order. */
    public static List<ItsNode> find(Fdt dt) {
        return find(dt.root(), "", 2, 1);
    }

    /** A property of the wrong shape on a node this walk reads is a {@link BootException} naming it. */
    private static List<ItsNode> find(FdtNode node, String path, int ac, int sc) {
        List<ItsNode> out = new ArrayList<>();
        String here = path.isEmpty() ? "/" : path;
        int myAc = BootException.readingNode(here, () -> node.u32("#address-cells").orElse(ac));
        int mySc = BootException.readingNode(here, () -> node.u32("#size-cells").orElse(sc));
        for (FdtNode c : node.children()) {
            String p = path + "/" + c.name();
            BootException.readingNode(p, () -> {
                boolean its = c.property("compatible").map(pr -> pr.asStringList().contains("arm,gic-v3-its")).orElse(false);
                boolean okay = c.property("status").map(pr -> pr.asString().equals("okay")).orElse(true);
                if (its && okay && c.property("reg").isPresent() && c.property("reg").get().cellCount() >= myAc + mySc) {
                    out.add(new ItsNode(p, c.phandle().orElse(-1), c.property("reg").get().asLong(0, myAc)));
                }
                return null;
            });
            out.addAll(find(c, p, myAc, mySc));
        }
        return out;
    }
}
