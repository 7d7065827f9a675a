package org.xenpci.libxl.guest;

import org.xenpci.core.GuestStruct;
import org.xenpci.core.HypercallResult;
import org.xenpci.core.P2m;
import org.xenpci.core.Vcpu;
import org.xenpci.core.Xen;
import org.xenpci.core.pci.Sbdf;

/**
 * How a guest kernel issues the PCI PHYSDEVOPs: it lays the argument structure out in its own
 * RAM (xen/include/public/physdev.h layouts) and makes the HVC with the structure's address.
 */
public final class PhysdevCall {
    /** {@code PHYSDEVOP_pci_device_add}. */
    public static final int PCI_DEVICE_ADD = 25;
    /** {@code PHYSDEVOP_pci_device_remove}. */
    public static final int PCI_DEVICE_REMOVE = 26;
    /** {@code PHYSDEVOP_pci_device_reset}. */
    public static final int PCI_DEVICE_RESET = 32;

    private final Vcpu vcpu;
    private final long scratch;

    /** @param scratch guest-physical address of a RAM area of at least 16 bytes for arguments */
    public PhysdevCall(Vcpu vcpu, long scratch) {
        this.vcpu = vcpu;
        this.scratch = scratch;
    }

    /** A scratch area in the last page of the domain's first RAM bank. */
    public static long scratchOf(Vcpu vcpu) {
        for (P2m.Entry e : vcpu.domain().p2m().entries()) {
            if (e instanceof P2m.Ram) {
                return e.gpa() + e.size() - P2m.PAGE_SIZE;
            }
        }
        throw new IllegalStateException(vcpu.domain() + " has no RAM for hypercall arguments");
    }

    /** {@code struct physdev_pci_device_add} {seg u16, bus u8, devfn u8, flags u32, physfn {bus, devfn}} (12 bytes). */
    public HypercallResult pciDeviceAdd(Sbdf sbdf, int flags, Sbdf physfn) {
        GuestStruct s = GuestStruct.ofSize(12).u16(0, sbdf.segment()).u8(2, sbdf.bus()).u8(3, sbdf.devfn()).u32(4, flags);
        if (physfn != null) {
            s.u8(8, physfn.bus()).u8(9, physfn.devfn());
        }
        return call(PCI_DEVICE_ADD, s);
    }

    /** {@code struct physdev_pci_device} {seg u16, bus u8, devfn u8} (4 bytes). */
    public HypercallResult pciDeviceRemove(Sbdf sbdf) {
        return call(PCI_DEVICE_REMOVE, GuestStruct.ofSize(4).u16(0, sbdf.segment()).u8(2, sbdf.bus()).u8(3, sbdf.devfn()));
    }

    /** {@code struct pci_device_reset} {dev physdev_pci_device, flags u32} (8 bytes). */
    public HypercallResult pciDeviceReset(Sbdf sbdf, int flags) {
        return call(PCI_DEVICE_RESET, GuestStruct.ofSize(8).u16(0, sbdf.segment()).u8(2, sbdf.bus()).u8(3, sbdf.devfn())
                .u32(4, flags));
    }

    private HypercallResult call(int cmd, GuestStruct s) {
        if (!vcpu.domain().p2m().copyToGuest(scratch, s.bytes())) {
            throw new IllegalStateException("scratch area " + Long.toHexString(scratch) + " is not RAM of " + vcpu.domain());
        }
        return vcpu.domain().xen().hypercall(vcpu, Xen.HYPERVISOR_PHYSDEV_OP, cmd, scratch);
    }
}
