package org.xenpci.armpci.hw;

/**
 * The arithmetic of the PCI {@code iommu-map} binding (Linux Documentation/devicetree/bindings/
 * pci/pci-iommu.txt), as Linux's {@code of_map_id} and Xen's {@code dt_map_id} apply it: the
 * requester ID is ANDed with {@code iommu-map-mask}; the first entry
 * {@code <rid-base iommu-phandle iommu-base length>} whose {@code [rid-base, rid-base + length)}
 * holds the masked RID gives stream ID {@code iommu-base + (rid - rid-base)} (u32). An entry
 * whose rid-base has bits outside the mask, met before a match, fails the lookup ("bad
 * rid-base/mask").
 *
 * <p>This is the ONE place the mapping is computed: the host bridge's inbound path
 * ({@link HostBridgeHardware}) and Xen's SMMU driver ({@code org.xenpci.armpci.smmu.IommuMap})
 * both call {@link #lookup}. Pure and allocation-free.
 */
public final class StreamMap {
    /** {@link #lookup} result: no entry covers the RID (the function is not behind an IOMMU). */
    public static final long NO_MATCH = -1;

    private StreamMap() {
    }

    /**
     * Maps {@code rid} through raw {@code iommu-map} cells (a multiple of 4; the caller checks).
     *
     * @param mask the {@code iommu-map-mask} cell, or -1 (all ones) when absent
     * @return {@code entryIndex << 32 | streamId} (non-negative) for a match, {@link #NO_MATCH},
     *         or {@code -2 - entryIndex} for a malformed entry (rid-base outside the mask)
     */
    public static long lookup(int rid, int[] map, int mask) {
        long m = Integer.toUnsignedLong(mask);
        long masked = Integer.toUnsignedLong(rid) & m;
        for (int i = 0; i + 3 < map.length; i += 4) {
            long base = Integer.toUnsignedLong(map[i]);
            if ((base & ~m) != 0) {
                return -2 - i / 4;
            }
            long len = Integer.toUnsignedLong(map[i + 3]);
            if (masked < base || masked - base >= len) {
                continue;
            }
            long id = (masked - base + Integer.toUnsignedLong(map[i + 2])) & 0xffffffffL;
            return (long) (i / 4) << 32 | id;
        }
        return NO_MATCH;
    }

    /** The entry index of a match {@code r >= 0}. */
    public static int entry(long r) {
        return (int) (r >>> 32);
    }

    /** The stream ID of a match {@code r >= 0} (unsigned 32-bit, in a long). */
    public static long streamId(long r) {
        return r & 0xffffffffL;
    }
}
