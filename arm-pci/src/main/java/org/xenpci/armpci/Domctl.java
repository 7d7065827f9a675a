package org.xenpci.armpci;

import org.xenpci.core.Xen;

/**
 * The device-assignment domctls' numbers, flags and argument layout
 * (xen/include/public/domctl.h; struct xen_domctl, struct xen_domctl_assign_device). Offsets are bytes within the 144-byte
 * {@code struct xen_domctl} (little-endian).
 *
 * <pre>
 *  struct xen_domctl:  +0 u32 cmd | +4 u32 interface_version (0x18) | +8 u16 domain | +10 pad[3] | +16 union (128 bytes)
 *  union u.assign_device (struct xen_domctl_assign_device, 24 bytes, at +16):
 *     +0 u32 dev (PCI 0, DT 1) | +4 u32 flags (RDM_RELAXED 1) | +8 u32 u.pci.machine_sbdf
 * </pre>
 */
public final class Domctl {
    private Domctl() {
    }

    /** XEN_DOMCTL_assign_device. */
    public static final int ASSIGN_DEVICE = Xen.XEN_DOMCTL_ASSIGN_DEVICE;
    /** XEN_DOMCTL_test_assign_device. */
    public static final int TEST_ASSIGN_DEVICE = Xen.XEN_DOMCTL_TEST_ASSIGN_DEVICE;
    /** XEN_DOMCTL_deassign_device. */
    public static final int DEASSIGN_DEVICE = Xen.XEN_DOMCTL_DEASSIGN_DEVICE;

    /** XEN_DOMCTL_DEV_PCI. */
    public static final int DEV_PCI = 0;
    /** XEN_DOMCTL_DEV_DT. */
    public static final int DEV_DT = 1;
    /** XEN_DOMCTL_DEV_RDM_RELAXED (assign only; what libxl's pci-assignable-add passes for DOMID_IO). */
    public static final int DEV_RDM_RELAXED = 1;

    /** Offset of {@code cmd} in struct xen_domctl. */
    public static final int OFF_CMD = 0;
    /** Offset of {@code interface_version}. */
    public static final int OFF_INTERFACE_VERSION = 4;
    /** Offset of {@code domain} (u16). */
    public static final int OFF_DOMAIN = 8;
    /** Offset of {@code u.assign_device.dev}. */
    public static final int OFF_ASSIGN_DEV = 16;
    /** Offset of {@code u.assign_device.flags}. */
    public static final int OFF_ASSIGN_FLAGS = 20;
    /** Offset of {@code u.assign_device.u.pci.machine_sbdf}. */
    public static final int OFF_ASSIGN_MACHINE_SBDF = 24;
}
