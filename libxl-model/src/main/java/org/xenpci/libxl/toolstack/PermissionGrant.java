package org.xenpci.libxl.toolstack;

/**
 * One {@code xc_domain_iomem_permission} / {@code xc_domain_ioport_permission} call the
 * toolstack made for a device resource (tools/libs/light/libxl_pci.c, add and remove flows). Recorded by the model
 * only: Xen's {@code XEN_DOMCTL_iomem_permission} (20) and {@code ioport_permission} (21) are
 * not modelled yet, so no hypercall is issued and no permission is enforced.
 *
 * @param domid the guest
 * @param io true for an I/O-port range, false for MMIO
 * @param first first frame number (MMIO: {@code start >> 12}) or first port (I/O)
 * @param count frames ({@code ceil(size / 4096)}) or ports
 * @param allow true when granted (add), false when revoked (remove)
 */
public record PermissionGrant(int domid, boolean io, long first, long count, boolean allow) {
}
