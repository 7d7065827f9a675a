package org.xenpci.armpci;

import org.xenpci.core.GuestStruct;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;

/**
 * Guest-side helpers that issue the PCI PHYSDEVOPs as a guest kernel would: write the argument
 * structure into the guest's own RAM at a scratch GPA, then HVC with
 * {@code HYPERVISOR_physdev_op(cmd, gpa)}. For reference guests and tests.
 */
public final class PhysdevCalls {
    private PhysdevCalls() {
    }

    /** The physdev_pci_device_add structure (12 bytes) for {@code sbdf} with {@code flags} and physfn. */
    public static GuestStruct pciDeviceAddStruct(Sbdf sbdf, int flags, int physfnBus, int physfnDevfn) {
        return GuestStruct.ofSize(Physdev.PCI_DEVICE_ADD_SIZE).u16(0, sbdf.segment()).u8(2, sbdf.bus())
                .u8(3, sbdf.devfn()).u32(4, flags & 0xffffffffL).u8(8, physfnBus).u8(9, physfnDevfn);
    }

    /** The physdev_pci_device structure (4 bytes). */
    public static GuestStruct pciDeviceStruct(Sbdf sbdf) {
        return GuestStruct.ofSize(Physdev.PCI_DEVICE_SIZE).u16(0, sbdf.segment()).u8(2, sbdf.bus()).u8(3, sbdf.devfn());
    }

    /** The pci_device_reset structure (8 bytes). */
    public static GuestStruct pciDeviceResetStruct(Sbdf sbdf, int flags) {
        return GuestStruct.ofSize(Physdev.PCI_DEVICE_RESET_SIZE).u16(0, sbdf.segment()).u8(2, sbdf.bus())
                .u8(3, sbdf.devfn()).u32(4, flags & 0xffffffffL);
    }

    /** PHYSDEVOP_pci_device_add for a function that is not a VF. */
    public static HypercallResult pciDeviceAdd(Vcpu vcpu, long scratchGpa, Sbdf sbdf, int flags) {
        return pciDeviceAdd(vcpu, scratchGpa, sbdf, flags, 0, 0);
    }

    /** PHYSDEVOP_pci_device_add with an explicit physfn (used when {@code flags} has XEN_PCI_DEV_VIRTFN). */
    public static HypercallResult pciDeviceAdd(Vcpu vcpu, long scratchGpa, Sbdf sbdf, int flags, int physfnBus,
            int physfnDevfn) {
        return issue(vcpu, scratchGpa, Physdev.PCI_DEVICE_ADD, pciDeviceAddStruct(sbdf, flags, physfnBus, physfnDevfn));
    }

    /** PHYSDEVOP_pci_device_remove. */
    public static HypercallResult pciDeviceRemove(Vcpu vcpu, long scratchGpa, Sbdf sbdf) {
        return issue(vcpu, scratchGpa, Physdev.PCI_DEVICE_REMOVE, pciDeviceStruct(sbdf));
    }

    /** PHYSDEVOP_pci_device_reset with reset type {@code flags} (Physdev.PCI_DEVICE_RESET_*). */
    public static HypercallResult pciDeviceReset(Vcpu vcpu, long scratchGpa, Sbdf sbdf, int flags) {
        return issue(vcpu, scratchGpa, Physdev.PCI_DEVICE_RESET, pciDeviceResetStruct(sbdf, flags));
    }

    /**
     * Writes {@code arg} at {@code scratchGpa} in the caller's RAM and issues the op.
     *
     * @throws IllegalArgumentException if the scratch area is not entirely guest RAM (the guest
     *         itself could not have written there)
     */
    public static HypercallResult issue(Vcpu vcpu, long scratchGpa, int cmd, GuestStruct arg) {
        if (!vcpu.domain().p2m().copyToGuest(scratchGpa, arg.bytes())) {
            throw new IllegalArgumentException("scratch GPA 0x" + Long.toHexString(scratchGpa) + "+" + arg.size()
                    + " is not RAM of " + vcpu.domain());
        }
        return vcpu.domain().xen().hypercall(vcpu, Xen.HYPERVISOR_PHYSDEV_OP, cmd, scratchGpa);
    }
}
