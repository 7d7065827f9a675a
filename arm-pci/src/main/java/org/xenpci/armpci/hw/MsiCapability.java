package org.xenpci.armpci.hw;

import static org.xenpci.core.pci.PciRegs.*;

/**
 * The physical behaviour of an MSI capability (PCI Local Bus 3.0, 6.8.1; PCIe Base 7.7.1),
 * installed by {@link PciFunction#fromConfig} when the config data has one:
 *
 * <pre>
 *  pos+0x2  Message Control: bit 0 ENABLE (RW), 3:1 QMASK (HwInit), 6:4 QSIZE (RW),
 *           bit 7 64BIT (HwInit), bit 8 MASKBIT (HwInit); other bits read-only
 *  pos+0x4  Message Address [31:2] (RW; bits 1:0 read 0)
 *  pos+0x8  Message Upper Address (RW, 64-bit capable only)
 *  pos+0x8 / 0xc   Message Data [15:0] (RW)
 *  pos+0xc / 0x10  Mask Bits (RW, per-vector masking capable only)
 *  pos+0x10 / 0x14 Pending Bits (read-only to software; set by the function)
 * </pre>
 *
 * Signalling vector {@code v} (below {@code 1 << QSIZE}) writes the data with its low
 * {@code QSIZE} bits replaced by {@code v} (multiple message, 6.8.3.4); a masked vector sets its
 * pending bit instead, and clearing the mask bit later sends it and clears the pending bit, as a
 * function must (6.8.3.3).
 *
 * <p>Thread-safety: all state lives in the config space and is read and changed under its lock.
 */
final class MsiCapability implements CapabilityBehaviour {
    private PciFunction function;
    private int pos;
    private boolean is64;
    private boolean maskable;

    @Override
    public void install(PciFunction fn, Capability cap, ConfigLayout layout) {
        this.function = fn;
        this.pos = cap.offset();
        ConfigSpace cs = fn.config();
        int control = cs.read(pos + PCI_MSI_FLAGS, 2);
        is64 = (control & PCI_MSI_FLAGS_64BIT) != 0;
        maskable = (control & PCI_MSI_FLAGS_MASKBIT) != 0;
        // Power-up values: disabled, one message, no address/data, nothing masked or pending.
        powerUp(cs);
        layout.word(PCI_MSI_FLAGS, "MSI_FLAGS")
                .field(0, "ENABLE", AccessMode.RW)
                .field(1, 3, "QMASK", AccessMode.HWINIT)
                .field(4, 3, "QSIZE", AccessMode.RW)
                .field(7, "64BIT", AccessMode.HWINIT)
                .field(8, "MASKBIT", AccessMode.HWINIT);
        layout.dword(PCI_MSI_ADDRESS_LO, "MSI_ADDRESS_LO").field(2, 30, "ADDRESS", AccessMode.RW);
        if (is64) {
            layout.dword(PCI_MSI_ADDRESS_HI, "MSI_ADDRESS_HI").all(AccessMode.RW);
        }
        layout.word(dataOffset() - pos, "MSI_DATA").all(AccessMode.RW);
        if (maskable) {
            layout.dword(maskOffset() - pos, "MSI_MASK").all(AccessMode.RW).onChange((o, n) -> unmasked(o & ~n));
            layout.dword(maskOffset() - pos + 4, "MSI_PENDING").all(AccessMode.RO);
        }
        fn.msi(this);
    }

    /** Function reset: the power-up values of {@link #install} (PCI Local Bus 3.0 6.8.1.3: MSI Enable resets to 0). */
    @Override
    public void reset() {
        powerUp(function.config());
    }

    private void powerUp(ConfigSpace cs) {
        cs.clearBits(pos + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
        cs.setInternal(pos + PCI_MSI_ADDRESS_LO, 4, 0);
        if (is64) {
            cs.setInternal(pos + PCI_MSI_ADDRESS_HI, 4, 0);
        }
        cs.setInternal(dataOffset(), 2, 0);
        if (maskable) {
            cs.setInternal(maskOffset(), 4, 0);
            cs.setInternal(maskOffset() + 4, 4, 0);
        }
    }

    private int dataOffset() {
        return pos + (is64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32);
    }

    private int maskOffset() {
        return pos + (is64 ? PCI_MSI_MASK_64 : PCI_MSI_MASK_32);
    }

    /** Capability offset in config space. */
    int position() {
        return pos;
    }

    boolean enabled() {
        return (function.config().read(pos + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE) != 0;
    }

    /** Number of vectors software enabled: {@code 1 << QSIZE}. */
    int vectors() {
        return 1 << ((function.config().read(pos + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_QSIZE) >> 4);
    }

    /** Signals {@code vector}; see the class comment. */
    SignalResult signal(int vector) {
        ConfigSpace cs = function.config();
        long address;
        int data;
        synchronized (cs) {
            if (!enabled()) {
                return SignalResult.DISABLED;
            }
            int n = vectors();
            if (vector < 0 || vector >= n) {
                return SignalResult.NO_SUCH_VECTOR;
            }
            if (!function.busMaster()) {
                return SignalResult.BUS_MASTER_DISABLED;
            }
            if (maskable && (cs.read(maskOffset(), 4) & (1 << vector)) != 0) {
                cs.setBits(maskOffset() + 4, 4, 1 << vector);
                return SignalResult.PENDING;
            }
            address = message(cs);
            data = messageData(cs, vector, n);
        }
        return function.sendMessage(address, data);
    }

    private long message(ConfigSpace cs) {
        long lo = Integer.toUnsignedLong(cs.read(pos + PCI_MSI_ADDRESS_LO, 4));
        return is64 ? lo | (long) cs.read(pos + PCI_MSI_ADDRESS_HI, 4) << 32 : lo;
    }

    private int messageData(ConfigSpace cs, int vector, int n) {
        int data = cs.read(dataOffset(), 2);
        return (data & ~(n - 1)) | vector;
    }

    /** Mask bits just cleared by software: send the pending ones (runs under the config lock). */
    private void unmasked(int cleared) {
        ConfigSpace cs = function.config();
        int pending = cs.read(maskOffset() + 4, 4) & cleared;
        if (pending == 0 || !enabled() || !function.busMaster()) {
            return;
        }
        int n = vectors();
        for (int v = 0; v < n; v++) {
            if ((pending & (1 << v)) != 0) {
                cs.clearBits(maskOffset() + 4, 4, 1 << v);
                function.sendMessage(message(cs), messageData(cs, v, n));
            }
        }
    }
}
