package org.xenpci.vpci;

import org.xenpci.core.Errno;
import org.xenpci.core.pci.Sbdf;

/**
 * A domU's virtual PCI topology ({@code assign_virtual_sbdf}, xen/drivers/vpci/vpci.c): devices appear as
 * integrated endpoints 0000:00:slot.fn on one virtual root bus, with slot taken from a 32-bit
 * map ({@code vpci_dev_assigned_map}, VPCI_MAX_VIRT_DEV = 32).
 *
 * <p>Upstream mode: only function 0 (-EOPNOTSUPP otherwise), lowest free slot (-ENOSPC when all
 * 32 are taken), {@code vslot} ignored. With {@code Profile.vpciGuestTopology}: a requested slot
 * is honoured (-EEXIST if taken, -EINVAL if not below 32), and functions of one physical device
 * share a virtual slot keeping their function numbers (-EEXIST if that function is already
 * there). See vpci/PROFILE-NOTES.md.
 *
 * <p>Thread-safety: synchronized; called under the domain's pci_lock (write) anyway.
 */
public final class VirtualTopology {
    /** VPCI_MAX_VIRT_DEV. */
    public static final int MAX_VIRT_DEV = 32;

    private int assignedMap;
    /** Per slot: the physical (segment, bus, device) key of its functions, or -1. */
    private final int[] slotOwner = new int[MAX_VIRT_DEV];
    /** Per slot: bitmap of guest functions in use. */
    private final int[] slotFunctions = new int[MAX_VIRT_DEV];

    VirtualTopology() {
        java.util.Arrays.fill(slotOwner, -1);
    }

    /**
     * Assigns a guest SBDF for the physical function {@code machine}.
     *
     * @param requestedSlot xl's vslot, or -1 (ignored unless {@code topology})
     * @param topology {@code Profile.vpciGuestTopology()}
     * @return the packed guest SBDF ({@link Sbdf#sbdf()}), or a negative errno
     */
    public synchronized int assign(Sbdf machine, int requestedSlot, boolean topology) {
        return assign(machine, requestedSlot, topology, false);
    }

    /**
     * {@link #assign(Sbdf, int, boolean)}, where {@code virtfn} marks an SR-IOV virtual function:
     * with {@code topology} it gets a slot of its own as function 0, as a VF is a single-function
     * device whatever its routing ID (PCIe SR-IOV: a VF's header type has no multi-function bit,
     * and its function number says nothing about its neighbours). Without {@code topology} the
     * upstream rule applies unchanged.
     */
    public synchronized int assign(Sbdf machine, int requestedSlot, boolean topology, boolean virtfn) {
        if (topology && virtfn) {
            int slot = requestedSlot >= 0 ? requestedSlot : Integer.numberOfTrailingZeros(~assignedMap);
            if (requestedSlot >= MAX_VIRT_DEV) {
                return Errno.EINVAL.rc();
            }
            if (slot >= MAX_VIRT_DEV) {
                return Errno.ENOSPC.rc();
            }
            if ((assignedMap & (1 << slot)) != 0) {
                return Errno.EEXIST.rc();
            }
            take(slot, 0, -1);
            return new Sbdf(0, 0, slot, 0).sbdf();
        }
        if (!topology) {
            if (machine.function() != 0) {
                return Errno.EOPNOTSUPP.rc();
            }
            int slot = Integer.numberOfTrailingZeros(~assignedMap);
            if (slot >= MAX_VIRT_DEV) {
                return Errno.ENOSPC.rc();
            }
            take(slot, 0, -1);
            return new Sbdf(0, 0, slot, 0).sbdf();
        }
        int key = physicalDeviceKey(machine);
        int fnBit = 1 << machine.function();
        for (int s = 0; s < MAX_VIRT_DEV; s++) {
            if (slotOwner[s] == key && (assignedMap & (1 << s)) != 0) {
                if ((slotFunctions[s] & fnBit) != 0) {
                    return Errno.EEXIST.rc();
                }
                slotFunctions[s] |= fnBit;
                return new Sbdf(0, 0, s, machine.function()).sbdf();
            }
        }
        int slot;
        if (requestedSlot >= 0) {
            if (requestedSlot >= MAX_VIRT_DEV) {
                return Errno.EINVAL.rc();
            }
            if ((assignedMap & (1 << requestedSlot)) != 0) {
                return Errno.EEXIST.rc();
            }
            slot = requestedSlot;
        } else {
            slot = Integer.numberOfTrailingZeros(~assignedMap);
            if (slot >= MAX_VIRT_DEV) {
                return Errno.ENOSPC.rc();
            }
        }
        take(slot, machine.function(), key);
        return new Sbdf(0, 0, slot, machine.function()).sbdf();
    }

    /** Releases a guest SBDF; the slot bit is freed with its last function. */
    public synchronized void release(int guestSbdf) {
        if (guestSbdf == VpciDevice.INVALID_SBDF) {
            return;
        }
        Sbdf g = Sbdf.fromPacked(guestSbdf);
        int s = g.device();
        slotFunctions[s] &= ~(1 << g.function());
        if (slotFunctions[s] == 0) {
            assignedMap &= ~(1 << s);
            slotOwner[s] = -1;
        }
    }

    /** The 32-bit slot map (bit n = slot n in use). */
    public synchronized int assignedMap() {
        return assignedMap;
    }

    private void take(int slot, int fn, int key) {
        assignedMap |= 1 << slot;
        slotFunctions[slot] = 1 << fn;
        slotOwner[slot] = key;
    }

    private static int physicalDeviceKey(Sbdf s) {
        return (s.segment() << 13) | (s.bus() << 5) | s.device();
    }
}
