package org.xenpci.libxl.dt;

import java.util.Objects;
import java.util.Optional;
import org.xenpci.core.fdt.FdtNode;

/**
 * What a non-upstream profile adds to the guest's vPCI host-bridge node, after the 8 upstream
 * properties and without changing them: an {@code msi-map} to a virtual ITS and, optionally, the
 * ITS node itself. {@link #NONE} reproduces upstream Xen, whose node has no MSI description
 * (spec 4.4).
 *
 * @param msiMap  the {@code msi-map} entry, appended to {@code pcie@10000000} when present
 * @param itsNode a node appended under the GIC node (e.g. {@code its@...} with
 *                {@code msi-controller}), when present
 */
public record VpciNodeExtras(Optional<MsiMap> msiMap, Optional<FdtNode> itsNode) {

    /** Upstream: nothing added. */
    public static final VpciNodeExtras NONE = new VpciNodeExtras(Optional.empty(), Optional.empty());

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
     * @param ridBase           first requester ID (bus << 8 | devfn)
     * @param controllerPhandle phandle of the ITS node
     * @param msiBase           first DeviceID at the ITS
     * @param length            number of requester IDs covered
     */
    public record MsiMap(int ridBase, int controllerPhandle, int msiBase, int length) {
    }
}
