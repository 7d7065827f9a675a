package org.xenpci.armpci.smmu;

import org.xenpci.armpci.hw.StreamMap;
import org.xenpci.core.Errno;

/**
 * The PCI {@code iommu-map} binding (Linux Documentation/devicetree/bindings/pci/pci-iommu.txt)
 * as Xen's {@code dt_map_id} / Linux's {@code of_map_id} apply it: a requester ID (RID, the
 * 16-bit bus/devfn) is masked with {@code iommu-map-mask} (default all-ones), then the first
 * entry {@code (rid-base, iommu-phandle, iommu-base, length)} whose
 * {@code [rid-base, rid-base + length)} contains it yields
 * {@code id = iommu-base + (rid - rid-base)} on that IOMMU (u32 arithmetic).
 *
 * <pre>
 *  iommu-map = &lt;rid-base phandle iommu-base length&gt; ...   (4 cells per entry)
 * </pre>
 *
 * Pure functions; thread-safe.
 */
public final class IommuMap {
    private IommuMap() {
    }

    /** What mapping one RID gave. */
    public sealed interface Result permits Mapped, NotBehindIommu, Malformed {
    }

    /**
     * The RID maps to {@code id} on the IOMMU node with {@code phandle}.
     *
     * @param phandle the IOMMU node's phandle (cell 1 of the matching entry)
     * @param id the output ID (an SMMU stream ID), unsigned 32-bit in a long
     */
    public record Mapped(int phandle, long id) implements Result {
    }

    /**
     * No {@code iommu-map}, or no entry covers the RID: the device is "not behind an IOMMU"
     * ({@code dt_map_id} returns 0 with no target node, so no fwspec is created).
     *
     * @param why "no iommu-map" or "no translation for rid 0x.."
     */
    public record NotBehindIommu(String why) implements Result {
    }

    /**
     * The property is malformed: a length that is not a multiple of 4 cells (-EINVAL, "bad
     * iommu-map") or an entry whose rid-base has bits outside the mask (-EFAULT, "bad
     * rid-base/mask").
     */
    public record Malformed(Errno errno, String why) implements Result {
    }

    /**
     * The first step both SMMU drivers share ({@code iommu_add_dt_pci_sideband_ids} in
     * xen/drivers/passthrough/device_tree.c): the host bridge Xen registered for {@code sbdf}'s
     * segment and bus, and the function's requester ID (bus/devfn within the segment) mapped
     * through that bridge's {@code iommu-map} / {@code iommu-map-mask}.
     *
     * @return the bridge and the mapping, or empty if Xen knows no host bridge for the function
     */
    public static java.util.Optional<Lookup> forFunction(org.xenpci.core.Xen xen, org.xenpci.core.pci.Sbdf sbdf) {
        org.xenpci.armpci.HostBridge bridge = xen.service(org.xenpci.armpci.ArmPciLayer.class)
                .map(l -> l.findHostBridge(sbdf.segment(), sbdf.bus())).orElse(null);
        if (bridge == null) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new Lookup(bridge, mapId(sbdf.bdf(), bridge.iommuMap().orElse(null),
                bridge.iommuMapMask().orElse(null))));
    }

    /**
     * A function's {@code iommu-map} lookup on its host bridge.
     *
     * @param bridge the host bridge Xen registered for the function
     * @param result what the bridge's map gives the function's requester ID
     */
    public record Lookup(org.xenpci.armpci.HostBridge bridge, Result result) {
    }

    /**
     * Maps one RID.
     *
     * @param rid the requester ID ({@code bus << 8 | devfn}), 0..0xffff
     * @param map the raw {@code iommu-map} cells, or null if absent
     * @param mask the raw {@code iommu-map-mask} cells (one cell), or null for all-ones
     * @return the mapping outcome; never null
     */
    public static Result mapId(int rid, int[] map, int[] mask) {
        if (map == null) {
            return new NotBehindIommu("no iommu-map");
        }
        if (map.length == 0 || map.length % 4 != 0) {
            return new Malformed(Errno.EINVAL, "bad iommu-map length " + map.length + " cells");
        }
        int mapMask = mask != null && mask.length > 0 ? mask[0] : -1;
        // The arithmetic is the hardware's own (StreamMap): Xen and the host bridge agree by construction.
        long r = StreamMap.lookup(rid, map, mapMask);
        if (r <= -2) {
            long base = map[(int) (-2 - r) * 4] & 0xffffffffL;
            return new Malformed(Errno.EFAULT, "bad rid-base 0x" + Long.toHexString(base) + " for mask 0x"
                    + Integer.toHexString(mapMask));
        }
        if (r >= 0) {
            return new Mapped(map[StreamMap.entry(r) * 4 + 1], StreamMap.streamId(r));
        }
        return new NotBehindIommu("no translation for rid 0x" + Integer.toHexString(rid));
    }
}
