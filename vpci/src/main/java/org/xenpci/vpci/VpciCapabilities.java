package org.xenpci.vpci;

import static org.xenpci.core.pci.PciRegs.*;

import java.util.List;
import org.xenpci.core.Errno;

/**
 * Capability-list emulation (xen/drivers/vpci/cap.c): the legacy list (hwdom: all
 * caps with cached pointers; domU: only the exposed IDs), the domU STATUS register, the
 * extended list, and running/hiding {@link CapabilityEmulator}s. Init-time only.
 */
public final class VpciCapabilities {
    /** Legacy list walk bound ({@code PCI_FIND_CAP_TTL}). */
    public static final int TTL = 48;
    /** STATUS RO mask for a domU (IMM_READY, INTERRUPT, CAP_LIST, 66MHZ, FAST_BACK, DEVSEL). */
    public static final int STATUS_RO_MASK = 0x06B9;
    /** Mask of the next-pointer field of an extended capability header. */
    static final int EXT_CAP_NEXT_MASK = 0xFFF00000;

    private static final int[] GUEST_CAPS = {PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX};
    private static final int[] GUEST_CAPS_IDENTITY = {PCI_CAP_ID_MSI, PCI_CAP_ID_MSIX, PCI_CAP_ID_EXP};

    private VpciCapabilities() {
    }

    /**
     * {@code vpci_init_capabilities}: lists first, then each emulator whose capability exists.
     *
     * @param exposePcie also expose the PCIe capability to a domU (profile vpciGuestIdentity)
     */
    static int init(VpciDevice dev, List<CapabilityEmulator> emulators, boolean exposePcie) {
        int rc = initCapabilityList(dev, exposePcie ? GUEST_CAPS_IDENTITY : GUEST_CAPS);
        if (rc != 0) {
            return rc;
        }
        if (dev.spec().extendedConfig()) {
            rc = initExtCapabilityList(dev);
            if (rc != 0) {
                return rc;
            }
        }
        boolean hwdom = dev.hardwareDomainView();
        for (CapabilityEmulator cap : emulators) {
            int pos = !cap.isExtended() ? findCapability(dev.hardware(), cap.capId())
                    : hwdom && dev.spec().extendedConfig() ? findExtCapability(dev.hardware(), cap.capId()) : 0;
            if (pos == 0) {
                continue;
            }
            rc = cap.init(dev);
            if (rc == 0) {
                continue;
            }
            dev.warn("init of " + (cap.isExtended() ? "extended" : "legacy") + " capability 0x"
                    + Integer.toHexString(cap.capId()) + " failed (rc " + rc + "), hiding it");
            rc = cap.cleanup(dev, true);
            if (rc != 0 && !hwdom) {
                return rc;
            }
            rc = cap.isExtended() ? hideExtCapability(dev, cap.capId()) : hideCapability(dev, cap.capId());
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }

    /**
     * {@code pci_find_next_cap_ttl}: from the pointer byte at {@code pos}, the raw pointer of the
     * next capability whose ID is in {@code caps} (any ID if {@code caps} is null), or 0.
     */
    static int findNextCapTtl(HardwareConfig hw, int pos, int[] caps, int[] ttl) {
        while (ttl[0]-- > 0) {
            pos = hw.read(pos, 1);
            if (pos < 0x40) {
                break;
            }
            int id = hw.read((pos & ~3) + PCI_CAP_LIST_ID, 1);
            if (id == 0xFF) {
                break;
            }
            if (caps == null) {
                return pos;
            }
            for (int c : caps) {
                if (id == c) {
                    return pos;
                }
            }
            pos = (pos & ~3) + PCI_CAP_LIST_NEXT;
        }
        return 0;
    }

    /** {@code pci_find_cap_offset}: offset of capability {@code id} in hardware, or 0. */
    public static int findCapability(HardwareConfig hw, int id) {
        if ((hw.read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) == 0) {
            return 0;
        }
        int pos = findNextCapTtl(hw, PCI_CAPABILITY_LIST, new int[] {id}, new int[] {TTL});
        return pos & ~3;
    }

    /** {@code pci_find_ext_capability}: offset of extended capability {@code id}, or 0. */
    public static int findExtCapability(HardwareConfig hw, int id) {
        int pos = PCI_EXT_CAP_START;
        int ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8;
        int header = hw.read(pos, 4);
        if (header == 0 || header == 0xFFFFFFFF) {
            return 0;
        }
        while (ttl-- > 0) {
            if (extCapId(header) == id) {
                return pos;
            }
            pos = extCapNext(header);
            if (pos < PCI_CFG_SPACE_SIZE) {
                break;
            }
            header = hw.read(pos, 4);
        }
        return 0;
    }

    /** {@code vpci_init_capability_list} plus the domU STATUS handler. */
    static int initCapabilityList(VpciDevice dev, int[] guestCaps) {
        HardwareConfig hw = dev.hardware();
        VpciRegisters regs = dev.registers();
        boolean hwdom = dev.hardwareDomainView();
        boolean maskCapList = false;
        if ((hw.read(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST) != 0) {
            int[] caps = hwdom ? null : guestCaps;
            int[] ttl = {TTL};
            int next = findNextCapTtl(hw, PCI_CAPABILITY_LIST, caps, ttl);
            int rc = regs.addRegister(new VpciHandlers.CachedValue(next), hwdom ? VpciHandlers.HW_WRITE8 : null,
                    PCI_CAPABILITY_LIST, 1);
            if (rc != 0) {
                return rc;
            }
            next &= ~3;
            if (next == 0 && !hwdom) {
                maskCapList = true; // nothing to expose: hide CAP_LIST in STATUS
            }
            while (next != 0 && ttl[0] > 0) {
                int pos = next;
                next = findNextCapTtl(hw, pos + PCI_CAP_LIST_NEXT, caps, ttl);
                if (!hwdom) {
                    rc = regs.addRegister(VpciHandlers.HW_READ8, null, pos + PCI_CAP_LIST_ID, 1);
                    if (rc != 0) {
                        return rc;
                    }
                }
                rc = regs.addRegister(new VpciHandlers.CachedValue(next), hwdom ? VpciHandlers.HW_WRITE8 : null,
                        pos + PCI_CAP_LIST_NEXT, 1);
                if (rc != 0) {
                    return rc;
                }
                next &= ~3;
            }
        }
        if (hwdom) {
            return 0; // hwdom STATUS is not trapped
        }
        return regs.addRegisterMask(VpciHandlers.HW_READ16, VpciHandlers.HW_WRITE16, PCI_STATUS, 2,
                STATUS_RO_MASK & ~(maskCapList ? PCI_STATUS_CAP_LIST : 0),
                PCI_STATUS_RW1C_MASK,
                maskCapList ? PCI_STATUS_CAP_LIST : 0,
                PCI_STATUS_RSVDZ_MASK);
    }

    /** {@code vpci_init_ext_capability_list}. */
    static int initExtCapabilityList(VpciDevice dev) {
        VpciRegisters regs = dev.registers();
        int pos = PCI_CFG_SPACE_SIZE;
        if (!dev.hardwareDomainView()) {
            // "No extended capabilities" for a domU.
            return regs.addRegister(VpciHandlers.READ_ZERO, null, pos, 4);
        }
        do {
            int header = dev.hardware().read(pos, 4);
            if (header == 0xFFFFFFFF) {
                dev.warn("broken extended cap list, offset 0x" + Integer.toHexString(pos));
                return 0;
            }
            int rc = regs.addRegister(new VpciHandlers.CachedValue(header), null, pos, 4);
            if (rc == Errno.EEXIST.rc()) {
                dev.warn("overlap in extended cap list, offset 0x" + Integer.toHexString(pos));
                return 0;
            }
            if (rc != 0) {
                return rc;
            }
            pos = extCapNext(header);
        } while (pos >= PCI_CFG_SPACE_SIZE);
        return 0;
    }

    /** {@code vpci_capability_hide}: unlinks a legacy capability from the emulated list. */
    static int hideCapability(VpciDevice dev, int capId) {
        int offset = findCapability(dev.hardware(), capId);
        if (offset == 0) {
            return 0;
        }
        VpciRegisters regs = dev.registers();
        VpciRegister prev = previousCapRegister(regs, offset);
        VpciRegister next = regs.getRegister(offset + PCI_CAP_LIST_NEXT, 1);
        if (prev == null || next == null || !(next.read() instanceof VpciHandlers.CachedValue nv)) {
            return Errno.ENODEV.rc();
        }
        ((VpciHandlers.CachedValue) prev.read()).value(nv.value());
        regs.removeRegisters(offset + PCI_CAP_LIST_NEXT, 1);
        if (!dev.hardwareDomainView()) {
            return regs.removeRegisters(offset + PCI_CAP_LIST_ID, 1);
        }
        return 0;
    }

    /** The cached pointer register (0x34 or a next byte) that points at {@code offset}, or null. */
    private static VpciRegister previousCapRegister(VpciRegisters regs, int offset) {
        VpciRegister r = regs.getRegister(PCI_CAPABILITY_LIST, 1);
        for (int ttl = TTL; r != null && ttl > 0; ttl--) {
            if (!(r.read() instanceof VpciHandlers.CachedValue cv)) {
                return null;
            }
            int pos = cv.value() & ~3;
            if (pos == offset) {
                return r;
            }
            if (pos < 0x40) {
                return null;
            }
            r = regs.getRegister(pos + PCI_CAP_LIST_NEXT, 1);
        }
        return null;
    }

    /** {@code vpci_ext_capability_hide}. */
    static int hideExtCapability(VpciDevice dev, int capId) {
        int offset = findExtCapability(dev.hardware(), capId);
        if (offset == 0) {
            return 0;
        }
        VpciRegisters regs = dev.registers();
        VpciRegister r = regs.getRegister(offset, 4);
        if (r == null || !(r.read() instanceof VpciHandlers.CachedValue cv)) {
            return Errno.ENODEV.rc();
        }
        int header = cv.value();
        if (offset == PCI_CFG_SPACE_SIZE) {
            // First cap: no next means "no caps"; otherwise zero only the ID so OSes skip it.
            cv.value(extCapNext(header) <= PCI_CFG_SPACE_SIZE ? 0 : header & ~0xFFFF);
            return 0;
        }
        VpciRegister prev = null;
        int pos = PCI_CFG_SPACE_SIZE;
        for (int ttl = (PCI_CFG_SPACE_EXP_SIZE - PCI_CFG_SPACE_SIZE) / 8; ttl > 0 && pos >= PCI_CFG_SPACE_SIZE; ttl--) {
            VpciRegister p = regs.getRegister(pos, 4);
            if (p == null || !(p.read() instanceof VpciHandlers.CachedValue pv)) {
                break;
            }
            if (extCapNext(pv.value()) == offset) {
                prev = p;
                break;
            }
            pos = extCapNext(pv.value());
        }
        if (prev == null) {
            return Errno.ENODEV.rc();
        }
        VpciHandlers.CachedValue pv = (VpciHandlers.CachedValue) prev.read();
        pv.value((pv.value() & ~EXT_CAP_NEXT_MASK) | (header & EXT_CAP_NEXT_MASK));
        return regs.removeRegisters(offset, 4);
    }
}
