package org.xenpci.armpci.smmu;

import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import org.xenpci.armpci.ArmPciLayer;
import org.xenpci.armpci.HostBridge;
import org.xenpci.armpci.PciIommu;
import org.xenpci.core.Hex;
import org.xenpci.core.Xen;
import org.xenpci.core.fdt.Fdt;
import org.xenpci.core.fdt.FdtException;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;
import org.xenpci.core.pci.Sbdf;

/**
 * Where a PCI function's DMA goes through an IOMMU, as far as Xen is concerned: the host bridge's
 * {@code iommu-map} for the function's requester ID (Xen's {@code dt_map_id}, the host DT) and
 * whether Xen's IOMMU driver took charge of the node it points at and holds a fwspec for the
 * function (Xen's state, through {@link PciIommu#drivenNodes} and {@link PciIommu#fwspecId}).
 * Reports use it ({@code xenpci boot}); the toolstack uses {@link #explanation} when an
 * assignment fails because no IOMMU drives the device. Computed on demand; no state.
 */
public sealed interface IommuPlacement permits IommuPlacement.Behind, IommuPlacement.NotBehind {

    /** The function. */
    Sbdf sbdf();

    /**
     * The function sits behind an IOMMU node Xen drives.
     *
     * @param sbdf the function
     * @param bridge the host bridge node path
     * @param rid the requester ID (bus/devfn)
     * @param iommuNode the IOMMU node path
     * @param streamId the ID the driver holds for it (its fwspec), else the one the iommu-map gives
     */
    record Behind(Sbdf sbdf, String bridge, int rid, String iommuNode, long streamId) implements IommuPlacement {
    }

    /**
     * No IOMMU Xen drives translates the function's DMA.
     *
     * @param sbdf the function
     * @param bridge the host bridge node path, or null if no host bridge Xen registered routes its bus
     * @param iommuNode the IOMMU node the iommu-map names, or null if none
     * @param reason what the DT and Xen's state say, e.g. "host bridge /pcie@10000000 has no
     *     iommu-map entry for RID 0x100"
     * @param remedy what to change, e.g. "add an iommu-map entry for RID 0x100 to /pcie@10000000"
     */
    record NotBehind(Sbdf sbdf, String bridge, String iommuNode, String reason, String remedy) implements IommuPlacement {
    }

    /**
     * The one-line statement for a failed assignment, e.g. "0000:01:00.0 is behind no IOMMU that
     * Xen drives (host bridge /pcie@10000000 has no iommu-map): add an iommu-map to /pcie@10000000".
     */
    default String explanation() {
        if (this instanceof NotBehind n) {
            return sbdf() + " is behind no IOMMU that Xen drives (" + n.reason() + "): " + n.remedy();
        }
        Behind b = (Behind) this;
        return sbdf() + " is behind " + b.iommuNode() + " as stream ID " + Hex.of(b.streamId());
    }

    /**
     * Works out where {@code sbdf} stands.
     *
     * @param xen a booted Xen with the Arm PCI layer
     * @param sbdf the function (need not be known to Xen)
     * @return the placement; never null
     */
    static IommuPlacement of(Xen xen, Sbdf sbdf) {
        Objects.requireNonNull(sbdf, "sbdf");
        ArmPciLayer layer = xen.service(ArmPciLayer.class).orElse(null);
        HostBridge bridge = layer == null ? null : layer.findHostBridge(sbdf.segment(), sbdf.bus());
        if (bridge == null) {
            return new NotBehind(sbdf, null, null, "no host bridge Xen registered routes bus "
                    + String.format("%04x:%02x", sbdf.segment(), sbdf.bus()), "describe its host bridge in the host DT");
        }
        String b = bridge.path();
        int rid = sbdf.bdf();
        String ridText = "RID " + Hex.of(rid);
        IommuMap.Result r = IommuMap.mapId(rid, bridge.iommuMap().orElse(null), bridge.iommuMapMask().orElse(null));
        if (r instanceof IommuMap.Malformed m) {
            return new NotBehind(sbdf, b, null, "host bridge " + b + " has a malformed iommu-map: " + m.why(),
                    "fix the iommu-map of " + b);
        }
        if (r instanceof IommuMap.NotBehindIommu) {
            boolean none = bridge.iommuMap().isEmpty();
            return new NotBehind(sbdf, b, null,
                    none ? "host bridge " + b + " has no iommu-map" : "host bridge " + b + " has no iommu-map entry for " + ridText,
                    none ? "add an iommu-map to " + b + " pointing at the SMMU that translates its DMA"
                            : "add an iommu-map entry for " + ridText + " to " + b);
        }
        IommuMap.Mapped mapped = (IommuMap.Mapped) r;
        Fdt dt = xen.hardware().deviceTree();
        String node = pathOfPhandle(dt, mapped.phandle());
        if (node == null) {
            return new NotBehind(sbdf, b, null, "the iommu-map entry of " + b + " for " + ridText + " names phandle "
                    + Hex.of(mapped.phandle()) + ", which no node of the host DT has", "fix the iommu-map of " + b);
        }
        PciIommu iommu = layer.iommu();
        List<String> driven = xen.iommuEnabled() ? iommu.drivenNodes() : List.of();
        if (driven.contains(node)) {
            OptionalLong held = iommu.fwspecId(sbdf);
            return new Behind(sbdf, b, rid, node, held.orElse(mapped.id()));
        }
        FdtNode n = dt.node(node).orElseThrow();
        String status = n.property("status").map(FdtProperty::asString).orElse("okay");
        if (!status.equals("okay") && !status.equals("ok")) {
            return new NotBehind(sbdf, b, node, "host bridge " + b + " maps " + ridText + " to " + node + ", which is disabled"
                    + " (status = \"" + status + "\")", "enable " + node + " (status = \"okay\")");
        }
        if (Boolean.FALSE.equals(xen.bootOptions().iommu().orElse(null))) {
            return new NotBehind(sbdf, b, node, "host bridge " + b + " maps " + ridText + " to " + node
                    + ", but the IOMMU is off on Xen's command line", "remove iommu=no from Xen's command line");
        }
        String compatible = n.property("compatible").map(p -> String.join("\", \"", p.asStringList())).orElse("");
        return new NotBehind(sbdf, b, node, "host bridge " + b + " maps " + ridText + " to " + node + " (compatible \""
                + compatible + "\"), which Xen's IOMMU drivers did not take charge of",
                "describe an IOMMU Xen drives (" + ArmSmmu.COMPATIBLE + ") at " + node);
    }

    /**
     * The IOMMU nodes Xen drives that the host bridge's {@code iommu-map} names, distinct, in
     * map order; empty when it has no (well-formed) map or Xen drives none of them.
     */
    static List<String> bridgeIommus(Xen xen, HostBridge bridge) {
        int[] map = bridge.iommuMap().orElse(null);
        ArmPciLayer layer = xen.service(ArmPciLayer.class).orElse(null);
        if (map == null || map.length % 4 != 0 || layer == null || !xen.iommuEnabled()) {
            return List.of();
        }
        List<String> driven = layer.iommu().drivenNodes();
        java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
        Fdt dt = xen.hardware().deviceTree();
        for (int i = 0; i < map.length; i += 4) {
            String node = pathOfPhandle(dt, map[i + 1]);
            if (node != null && driven.contains(node)) {
                out.add(node);
            }
        }
        return List.copyOf(out);
    }

    private static String pathOfPhandle(Fdt dt, int phandle) {
        String[] found = new String[1];
        dt.forEachNode((path, n) -> {
            try {
                if (found[0] == null && n.phandle().isPresent() && n.phandle().getAsInt() == phandle) {
                    found[0] = path;
                }
            } catch (FdtException e) {
                // A malformed phandle property names no node.
            }
        });
        return found[0];
    }
}
