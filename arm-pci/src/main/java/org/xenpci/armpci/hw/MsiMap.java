package org.xenpci.armpci.hw;

import java.util.Arrays;
import java.util.Optional;
import org.xenpci.core.Hex;

/**
 * A host bridge's requester-ID to MSI-controller mapping, from its device-tree properties
 * {@code msi-map}, {@code msi-map-mask} and {@code msi-parent} (Documentation/devicetree/
 * bindings/pci/pci-msi.txt), with Linux's {@code of_map_id} semantics. This is the ONE place the
 * mapping is computed: the hardware's inbound MSI path ({@link HostBridgeHardware#dmaWrite}) and
 * Xen's ITS driver both call {@link #map}.
 *
 * <ul>
 * <li>{@code msi-map} is a list of {@code (rid-base, phandle, msi-base, length)} entries (one cell
 *     each). The requester ID is first ANDed with {@code msi-map-mask} (default 0xffffffff); the
 *     first entry with {@code rid-base <= masked < rid-base + length} gives the controller
 *     {@code phandle} and {@code DeviceID = masked - rid-base + msi-base}. An entry whose
 *     {@code rid-base} has bits outside the mask is malformed and skipped (Linux reports
 *     "bad id_base/mask" and fails the lookup; here the lookup finds nothing).</li>
 * <li>No entry matches: no translation ({@link Optional#empty()}): the function has no MSI domain,
 *     as {@code of_msi_map_get_device_domain} leaves it without one.</li>
 * <li>Without {@code msi-map}, {@code msi-parent = <&ctrl>} sends every requester to that
 *     controller with {@code DeviceID = RID}; {@code msi-parent = <&ctrl id>} (a controller with
 *     {@code #msi-cells = <1>}) uses the fixed {@code id}. {@code msi-map} wins when both exist.</li>
 * </ul>
 *
 * <p>Immutable and thread-safe; {@link #map} allocates only its result.
 */
public final class MsiMap {
    /** No mapping properties: nothing translates. */
    public static final MsiMap NONE = new MsiMap(null, 0xffffffff, null);

    /**
     * The result of a translation.
     *
     * @param controllerPhandle phandle of the MSI controller node (an ITS)
     * @param deviceId the DeviceID the controller sees with the message
     */
    public record Translation(int controllerPhandle, int deviceId) {
    }

    private final int[] map;
    private final int mask;
    private final int[] parent;

    private MsiMap(int[] map, int mask, int[] parent) {
        this.map = map;
        this.mask = mask;
        this.parent = parent;
    }

    /**
     * Builds the mapping from the raw cells of the three properties (each null when absent).
     *
     * @throws HardwareConfigException if {@code msi-map} is empty or not a multiple of 4 cells,
     *         {@code msi-map-mask} is not one cell, or {@code msi-parent} is empty or has more than 2 cells
     */
    public static MsiMap of(int[] msiMap, int[] msiMapMask, int[] msiParent) {
        if (msiMap != null && (msiMap.length == 0 || msiMap.length % 4 != 0)) {
            throw new HardwareConfigException("msi-map has " + msiMap.length + " cells, not a non-zero multiple of 4");
        }
        if (msiMapMask != null && msiMapMask.length != 1) {
            throw new HardwareConfigException("msi-map-mask has " + msiMapMask.length + " cells, not 1");
        }
        if (msiParent != null && (msiParent.length == 0 || msiParent.length > 2)) {
            throw new HardwareConfigException("msi-parent has " + msiParent.length + " cells, not 1 or 2");
        }
        return new MsiMap(msiMap == null ? null : msiMap.clone(), msiMapMask == null ? 0xffffffff : msiMapMask[0],
                msiParent == null ? null : msiParent.clone());
    }

    /** A single {@code msi-map} entry {@code <ridBase phandle msiBase length>}, mask all-ones. */
    public static MsiMap single(int ridBase, int phandle, int msiBase, int length) {
        return of(new int[] {ridBase, phandle, msiBase, length}, null, null);
    }

    /** True if neither {@code msi-map} nor {@code msi-parent} is present. */
    public boolean isEmpty() {
        return map == null && parent == null;
    }

    /**
     * Translates requester ID {@code rid} ({@code bus << 8 | devfn}).
     *
     * @return the controller and DeviceID, or empty if the function has no MSI controller
     */
    public Optional<Translation> map(int rid) {
        long t = translate(rid);
        return t == NO_TRANSLATION ? Optional.empty() : Optional.of(new Translation((int) (t >>> 32), (int) t));
    }

    /** {@link #translate}'s result when nothing translates (phandle 0xffffffff is never a valid one). */
    public static final long NO_TRANSLATION = -1L;

    /**
     * {@link #map} without allocating, for the message path: the controller phandle in the high
     * 32 bits and the DeviceID in the low 32, or {@link #NO_TRANSLATION}.
     */
    public long translate(int rid) {
        if (map != null) {
            int masked = rid & mask;
            for (int i = 0; i < map.length; i += 4) {
                int base = map[i];
                long len = Integer.toUnsignedLong(map[i + 3]);
                if ((base & ~mask) != 0) {
                    continue; // of_map_id: "bad id_base/mask"
                }
                long off = Integer.toUnsignedLong(masked) - Integer.toUnsignedLong(base);
                if (off < 0 || off >= len) {
                    continue;
                }
                return pack(map[i + 1], (int) (off + Integer.toUnsignedLong(map[i + 2])));
            }
            return NO_TRANSLATION;
        }
        if (parent != null) {
            return pack(parent[0], parent.length == 2 ? parent[1] : rid);
        }
        return NO_TRANSLATION;
    }

    private static long pack(int phandle, int deviceId) {
        return (long) phandle << 32 | Integer.toUnsignedLong(deviceId);
    }

    @Override
    public String toString() {
        return "MsiMap[map=" + (map == null ? "none" : Arrays.toString(map)) + ", mask=" + Hex.of(mask & 0xffffffffL)
                + ", parent=" + (parent == null ? "none" : Arrays.toString(parent)) + "]";
    }
}
