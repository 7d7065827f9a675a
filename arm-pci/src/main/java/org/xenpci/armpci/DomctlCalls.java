package org.xenpci.armpci;

import org.xenpci.core.GuestStruct;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;

/**
 * Caller-side helpers for the device-assignment domctls, as libxc's {@code xc_assign_device} /
 * {@code xc_test_assign_device} / {@code xc_deassign_device} issue them: lay out the 144-byte
 * {@code struct xen_domctl} ({@link Domctl}) in the caller's own RAM at a scratch GPA, then HVC
 * {@code HYPERVISOR_domctl(gpa)}. For the toolstack model and tests.
 */
public final class DomctlCalls {
    private DomctlCalls() {
    }

    /**
     * A {@code struct xen_domctl} for one assignment op.
     *
     * @param cmd {@link Domctl#ASSIGN_DEVICE}, {@link Domctl#TEST_ASSIGN_DEVICE} or {@link Domctl#DEASSIGN_DEVICE}
     * @param domid the target domid (DOMID_IO, DOMID_INVALID allowed), u16
     * @param dev {@link Domctl#DEV_PCI} or {@link Domctl#DEV_DT}
     * @param flags the flags word
     * @param machineSbdf the packed machine SBDF ({@code seg << 16 | bus << 8 | devfn})
     */
    public static GuestStruct assignDeviceStruct(int cmd, int domid, int dev, int flags, int machineSbdf) {
        return GuestStruct.ofSize(Xen.XEN_DOMCTL_SIZE).u32(Domctl.OFF_CMD, cmd)
                .u32(Domctl.OFF_INTERFACE_VERSION, Xen.XEN_DOMCTL_INTERFACE_VERSION).u16(Domctl.OFF_DOMAIN, domid)
                .u32(Domctl.OFF_ASSIGN_DEV, dev & 0xffffffffL).u32(Domctl.OFF_ASSIGN_FLAGS, flags & 0xffffffffL)
                .u32(Domctl.OFF_ASSIGN_MACHINE_SBDF, machineSbdf & 0xffffffffL);
    }

    /** XEN_DOMCTL_assign_device of PCI device {@code sbdf} to {@code domid} with {@code flags}. */
    public static HypercallResult assignDevice(Vcpu vcpu, long scratchGpa, int domid, Sbdf sbdf, int flags) {
        return issue(vcpu, scratchGpa,
                assignDeviceStruct(Domctl.ASSIGN_DEVICE, domid, Domctl.DEV_PCI, flags, sbdf.sbdf()));
    }

    /** XEN_DOMCTL_test_assign_device (libxc always sends flags 0). */
    public static HypercallResult testAssignDevice(Vcpu vcpu, long scratchGpa, int domid, Sbdf sbdf) {
        return issue(vcpu, scratchGpa,
                assignDeviceStruct(Domctl.TEST_ASSIGN_DEVICE, domid, Domctl.DEV_PCI, 0, sbdf.sbdf()));
    }

    /** XEN_DOMCTL_deassign_device (libxc always sends flags 0). */
    public static HypercallResult deassignDevice(Vcpu vcpu, long scratchGpa, int domid, Sbdf sbdf) {
        return issue(vcpu, scratchGpa,
                assignDeviceStruct(Domctl.DEASSIGN_DEVICE, domid, Domctl.DEV_PCI, 0, sbdf.sbdf()));
    }

    /**
     * Writes {@code domctl} at {@code scratchGpa} in the caller's RAM and issues HYPERVISOR_domctl.
     *
     * @throws IllegalArgumentException if the scratch area is not entirely RAM of the caller
     */
    public static HypercallResult issue(Vcpu vcpu, long scratchGpa, GuestStruct domctl) {
        if (!vcpu.domain().p2m().copyToGuest(scratchGpa, domctl.bytes())) {
            throw new IllegalArgumentException("scratch GPA 0x" + Long.toHexString(scratchGpa) + "+" + domctl.size()
                    + " is not RAM of " + vcpu.domain());
        }
        return vcpu.domain().xen().hypercall(vcpu, Xen.HYPERVISOR_DOMCTL, scratchGpa);
    }
}
