package org.xenpci.vpci;

import static org.xenpci.core.pci.PciRegs.*;

/**
 * Profile switch {@code vpciGuestIdentity}: read-only identity registers for a domU so that
 * enumeration works (upstream has none: they read all-ones, xen/drivers/vpci/header.c: vpci_init_header). Every choice here is listed
 * in vpci/PROFILE-NOTES.md. All writes to these registers are ignored.
 */
final class GuestIdentity {
    /** PCIe capability length for version 1 endpoints and for version 2 (PCI_CAP_EXP_*SIZEOF). */
    static final int PCIE_CAP_SIZEOF_V1 = 0x14;
    static final int PCIE_CAP_SIZEOF_V2 = 0x3C;

    private GuestIdentity() {
    }

    /** Adds the identity registers; run after the header and capability lists. */
    static int init(VpciDevice dev) {
        VpciRegisters regs = dev.registers();
        boolean type0 = (dev.hardware().read(PCI_HEADER_TYPE, 1) & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_NORMAL;
        org.xenpci.armpci.VirtfnResources vf = dev.spec().virtfn();
        // A VF's own IDs read 0xFFFF (PCIe SR-IOV): it is the PF's vendor and the VF Device ID.
        ReadHandler ids = vf == null ? VpciHandlers.HW_READ32 : constant(vf.vendorId() | vf.deviceId() << 16);
        int rc = add(regs, 0, ids, PCI_VENDOR_ID, 4);                               // vendor + device ID
        rc = add(regs, rc, VpciHandlers.HW_READ32, PCI_CLASS_REVISION, 4);          // revision + class
        rc = add(regs, rc, VpciHandlers.READ_ZERO, PCI_CACHE_LINE_SIZE, 2);         // cache line + latency: 0
        rc = add(regs, rc, VpciHandlers.HW_READ8, PCI_HEADER_TYPE, 1);              // header type, MFD bit as is
        rc = add(regs, rc, VpciHandlers.READ_ZERO, PCI_BIST, 1);                    // no BIST
        if (type0) {
            rc = add(regs, rc, VpciHandlers.HW_READ32, PCI_SUBSYSTEM_VENDOR_ID, 4);
            rc = add(regs, rc, VpciHandlers.READ_ZERO, PCI_INTERRUPT_LINE, 1);      // no guest INTx routing
            rc = add(regs, rc, VpciHandlers.HW_READ8, PCI_INTERRUPT_PIN, 1);
            rc = add(regs, rc, VpciHandlers.READ_ZERO, PCI_MIN_GNT, 2);             // min_gnt/max_lat: 0 on PCIe
        }
        if (rc != 0) {
            return rc;
        }
        return initPcieCapability(dev);
    }

    /** A handler reading {@code value} (no allocation per access). */
    private static ReadHandler constant(int value) {
        return (d, r) -> value;
    }

    /** Adds a read-only register unless an earlier add already failed. */
    private static int add(VpciRegisters regs, int rc, ReadHandler read, int offset, int size) {
        return rc != 0 ? rc : regs.addRegister(read, null, offset, size);
    }

    /** The PCIe capability body, read-only (ID and next byte are handled by the list). */
    private static int initPcieCapability(VpciDevice dev) {
        int pos = VpciCapabilities.findCapability(dev.hardware(), PCI_CAP_ID_EXP);
        if (pos == 0) {
            return 0;
        }
        VpciRegisters regs = dev.registers();
        int flags = dev.hardware().read(pos + PCI_EXP_FLAGS, 2);
        int len = (flags & 0xF) >= 2 ? PCIE_CAP_SIZEOF_V2 : PCIE_CAP_SIZEOF_V1;
        int rc = regs.addRegister(VpciHandlers.HW_READ16, null, pos + PCI_EXP_FLAGS, 2);
        for (int off = 4; rc == 0 && off < len && pos + off + 4 <= PCI_CFG_SPACE_SIZE; off += 4) {
            // DEVCTL/LNKCTL and the RW1C status bits are not guest-writable: writes ignored.
            rc = regs.addRegister(VpciHandlers.HW_READ32, null, pos + off, 4);
        }
        return rc;
    }
}
