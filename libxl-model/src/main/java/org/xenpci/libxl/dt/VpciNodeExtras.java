package org.xenpci.libxl.dt;

import java.util.Objects;
import java.util.Optional;
import org.xenpci.armpci.gicv3.GicV3Its;
import org.xenpci.core.fdt.FdtNode;
import org.xenpci.core.fdt.FdtProperty;

/**
 * What a non-upstream profile adds to the guest's vPCI host-bridge node, after the 8 upstream
 * properties and without changing them: an {@code msi-map} to a virtual ITS and, optionally, the
 * ITS node itself. {@link #NONE} reproduces upstream Xen, whose node has no MSI description
 * (tools/libs/light/libxl_arm.c: make_vpci_node).
 *
 * @param msiMap  the {@code msi-map} entry, appended to {@code pcie@10000000} when present
 * @param itsNode a node appended under the GIC node (e.g. {@code msi-controller@...} with
 *                {@code msi-controller}), when present
 */
public record VpciNodeExtras(Optional<MsiMap> msiMap, Optional<FdtNode> itsNode) {

    /** Upstream: nothing added. */
    public static final VpciNodeExtras NONE = new VpciNodeExtras(Optional.empty(), Optional.empty());

    /** Phandle of the guest ITS node: the first free one after GUEST_PHANDLE_GIC (65000) and _IOMMU (65001). */
    public static final int GUEST_PHANDLE_ITS = 65002;

    /**
     * What {@code Profile.guestVits} adds (docs/msi.md): the node {@code msi-controller@4020000} under the GIC
     * ({@code compatible = "arm,gic-v3-its"}, {@code msi-controller}, {@code #msi-cells = <1>},
     * {@code reg} = the guest vITS at {@code GicV3Its.GUEST_GICV3_ITS_BASE} 0x04020000 + 128 KiB,
     * phandle {@link #GUEST_PHANDLE_ITS}) and {@code msi-map = <0 &its 0 0x10000>} on the vPCI
     * node, so a guest DeviceID is its requester ID.
     */
    public static VpciNodeExtras guestVits() {
        long base = GicV3Its.GUEST_GICV3_ITS_BASE;
        // Named msi-controller@ as Linux's GICv3 binding (arm,gic-v3.yaml) wants its children
        // named; dt-validate rejects "its@" (docs/profiles.md, guest DT against the bindings).
        FdtNode its = FdtNode.builder("msi-controller@" + Long.toHexString(base))
                .property(FdtProperty.string("compatible", "arm,gic-v3-its"))
                .property(FdtProperty.empty("msi-controller"))
                .property(FdtProperty.u32("#msi-cells", 1))
                .property(FdtProperty.u64("reg", base, GicV3Its.GUEST_GICV3_ITS_SIZE))
                .property(FdtProperty.u32("phandle", GUEST_PHANDLE_ITS))
                .build();
        return new VpciNodeExtras(Optional.of(new MsiMap(0, GUEST_PHANDLE_ITS, 0, 0x10000)), Optional.of(its));
    }

    /** Validates. */
    public VpciNodeExtras {
        Objects.requireNonNull(msiMap, "msiMap");
        Objects.requireNonNull(itsNode, "itsNode");
    }

    /**
     * One {@code msi-map} entry {@code <rid-base msi-controller msi-base length>} (Linux
     * pci-msi.txt binding): requester IDs {@code [ridBase, ridBase + length)} map to MSI
     * specifiers {@code msiBase + (rid - ridBase)} of the controller with phandle
     * {@code controllerPhandle}.
     *
     * @param ridBase           first requester ID ({@code bus << 8 | devfn})
     * @param controllerPhandle phandle of the ITS node
     * @param msiBase           first DeviceID at the ITS
     * @param length            number of requester IDs covered
     */
    public record MsiMap(int ridBase, int controllerPhandle, int msiBase, int length) {
    }
}
