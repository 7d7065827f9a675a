package org.xenpci.armpci.hw;

import static org.xenpci.armpci.hw.AccessMode.HWINIT;
import static org.xenpci.armpci.hw.AccessMode.RO;
import static org.xenpci.armpci.hw.AccessMode.RW;
import static org.xenpci.armpci.hw.AccessMode.RW1C;

import org.xenpci.core.pci.PciRegs;

/**
 * Declares the software-visible behaviour of the type 0 and type 1 config headers
 * (PCI Local Bus 3.0 6.2; PCI-to-PCI Bridge 1.2 chapter 3; PCIe Base 7.5.1).
 *
 * <p>Decisions where the specs leave a choice: COMMAND.IO is writable only when the function
 * has an I/O BAR (bridges: always, they forward I/O), COMMAND.MEMORY only with a memory BAR or
 * ROM (bridges: always). On a PCIe function the legacy bits SPECIAL, INVALIDATE, VGA_PALETTE,
 * FAST_BACK and the latency timers are hardwired to 0 (PCIe Base 7.5.1.1.3, 7.5.1.1.6);
 * on conventional PCI they are RW. BIST and the bridge's secondary-bus-reset are tagged
 * (known, not modelled).
 */
final class StandardHeader {
    private StandardHeader() {
    }

    /**
     * Address bits at or above the BAR size are RW; bits below it, the space/type/prefetch bits
     * and (for a MEM64 BAR of 4 GiB or more) the whole low dword are RO, so writing all-ones reads
     * back {@code ~(size-1) | flags} (PCI Local Bus 3.0 6.2.5.1; ROM: 6.2.5.2, enable bit 0 RW).
     */
    private static void declareBar(ConfigLayout layout, BarSpec bar, int off) {
        declareBar(layout, bar, off, "BAR");
    }

    /** {@link #declareBar(ConfigLayout, BarSpec, int)} naming the registers {@code prefix + index} (an SR-IOV VF BAR). */
    static void declareBar(ConfigLayout layout, BarSpec bar, int off, String prefix) {
        int sizeBit = Long.numberOfTrailingZeros(bar.size());
        String name = bar.kind() == BarKind.ROM ? "ROM" : prefix + bar.index();
        ConfigLayout.Register low = layout.dword(off, name);
        switch (bar.kind()) {
            case IO:
                low.field(0, 2, "FLAGS", RO).field(sizeBit, 32 - sizeBit, "ADDRESS", RW);
                break;
            case ROM:
                low.field(0, "ENABLE", RW).field(sizeBit, 32 - sizeBit, "ADDRESS", RW);
                break;
            default:
                low.field(0, 4, "FLAGS", RO);
                if (sizeBit < 32) {
                    low.field(sizeBit, 32 - sizeBit, "ADDRESS", RW);
                }
                break;
        }
        if (bar.kind() == BarKind.MEM64) {
            int highBit = Math.max(0, sizeBit - 32);
            layout.dword(off + 4, prefix + (bar.index() + 1) + "_UPPER").field(highBit, 32 - highBit, "ADDRESS", RW);
        }
    }

    static void declare(ConfigLayout layout, int headerType, BarSpec[] bars, boolean pcie,
            boolean hasIoBar, boolean hasMemBar) {
        boolean bridge = headerType == PciRegs.PCI_HEADER_TYPE_BRIDGE;
        AccessMode legacy = pcie ? RO : RW;
        layout.word(PciRegs.PCI_VENDOR_ID, "VENDOR_ID").all(HWINIT);
        layout.word(PciRegs.PCI_DEVICE_ID, "DEVICE_ID").all(HWINIT);
        layout.word(PciRegs.PCI_COMMAND, "COMMAND")
                .field(0, "IO", bridge || hasIoBar ? RW : RO)
                .field(1, "MEMORY", bridge || hasMemBar ? RW : RO)
                .field(2, "MASTER", RW)
                .field(3, "SPECIAL", legacy)
                .field(4, "INVALIDATE", legacy)
                .field(5, "VGA_PALETTE", legacy)
                .field(6, "PARITY", RW)
                .field(8, "SERR", RW)
                .field(9, "FAST_BACK", legacy)
                .field(10, "INTX_DISABLE", RW);
        layout.word(PciRegs.PCI_STATUS, "STATUS")
                .field(0, 8, "STATE", RO)
                .field(8, "MASTER_DATA_PARITY", RW1C)
                .field(9, 2, "DEVSEL", RO)
                .field(11, 5, "ERRORS", RW1C);
        layout.dword(PciRegs.PCI_CLASS_REVISION, "CLASS_REVISION").all(HWINIT);
        layout.byteRegister(PciRegs.PCI_CACHE_LINE_SIZE, "CACHE_LINE_SIZE").all(RW);
        layout.byteRegister(PciRegs.PCI_LATENCY_TIMER, "LATENCY_TIMER").all(legacy);
        layout.byteRegister(PciRegs.PCI_HEADER_TYPE, "HEADER_TYPE").all(HWINIT);
        layout.byteRegister(PciRegs.PCI_BIST, "BIST").tagged("BIST");
        for (BarSpec bar : bars) {
            if (bar == null) {
                continue;
            }
            declareBar(layout, bar, bar.registerOffset(headerType));
        }
        layout.byteRegister(PciRegs.PCI_CAPABILITY_LIST, "CAPABILITY_LIST").all(RO);
        layout.byteRegister(PciRegs.PCI_INTERRUPT_LINE, "INTERRUPT_LINE").all(RW);
        layout.byteRegister(PciRegs.PCI_INTERRUPT_PIN, "INTERRUPT_PIN").all(HWINIT);
        if (!bridge) {
            layout.word(PciRegs.PCI_SUBSYSTEM_VENDOR_ID, "SUBSYSTEM_VENDOR_ID").all(HWINIT);
            layout.word(PciRegs.PCI_SUBSYSTEM_ID, "SUBSYSTEM_ID").all(HWINIT);
            return;
        }
        layout.byteRegister(PciRegs.PCI_PRIMARY_BUS, "PRIMARY_BUS").all(RW);
        layout.byteRegister(PciRegs.PCI_SECONDARY_BUS, "SECONDARY_BUS").all(RW);
        layout.byteRegister(PciRegs.PCI_SUBORDINATE_BUS, "SUBORDINATE_BUS").all(RW);
        layout.byteRegister(PciRegs.PCI_SEC_LATENCY_TIMER, "SEC_LATENCY_TIMER").all(legacy);
        // Window registers: the low nibble says 16/32-bit I/O and 32/64-bit prefetchable
        // decoding and comes from the image (PCI-to-PCI Bridge 1.2, 3.2.5.6 and 3.2.5.10).
        ConfigSpace cs = layout.space();
        boolean io32 = (cs.read(PciRegs.PCI_IO_BASE, 1) & 0xf) == 1;
        boolean pref64 = (cs.read(PciRegs.PCI_PREF_MEMORY_BASE, 2) & 0xf) == 1;
        layout.byteRegister(PciRegs.PCI_IO_BASE, "IO_BASE").field(0, 4, "CAP", RO).field(4, 4, "ADDRESS", RW);
        layout.byteRegister(PciRegs.PCI_IO_LIMIT, "IO_LIMIT").field(0, 4, "CAP", RO).field(4, 4, "ADDRESS", RW);
        layout.word(PciRegs.PCI_SEC_STATUS, "SECONDARY_STATUS")
                .field(0, 8, "STATE", RO)
                .field(8, "MASTER_DATA_PARITY", RW1C)
                .field(9, 2, "DEVSEL", RO)
                .field(11, 5, "ERRORS", RW1C);
        layout.word(PciRegs.PCI_MEMORY_BASE, "MEMORY_BASE").field(0, 4, "RSVD", RO).field(4, 12, "ADDRESS", RW);
        layout.word(PciRegs.PCI_MEMORY_LIMIT, "MEMORY_LIMIT").field(0, 4, "RSVD", RO).field(4, 12, "ADDRESS", RW);
        layout.word(PciRegs.PCI_PREF_MEMORY_BASE, "PREF_MEMORY_BASE").field(0, 4, "CAP", RO).field(4, 12, "ADDRESS", RW);
        layout.word(PciRegs.PCI_PREF_MEMORY_LIMIT, "PREF_MEMORY_LIMIT").field(0, 4, "CAP", RO).field(4, 12, "ADDRESS", RW);
        layout.dword(PciRegs.PCI_PREF_BASE_UPPER32, "PREF_BASE_UPPER32").all(pref64 ? RW : RO);
        layout.dword(PciRegs.PCI_PREF_LIMIT_UPPER32, "PREF_LIMIT_UPPER32").all(pref64 ? RW : RO);
        layout.word(PciRegs.PCI_IO_BASE_UPPER16, "IO_BASE_UPPER16").all(io32 ? RW : RO);
        layout.word(PciRegs.PCI_IO_LIMIT_UPPER16, "IO_LIMIT_UPPER16").all(io32 ? RW : RO);
        layout.word(PciRegs.PCI_BRIDGE_CONTROL, "BRIDGE_CONTROL")
                .field(0, "PARITY", RW)
                .field(1, "SERR", RW)
                .field(2, "ISA", RW)
                .field(3, "VGA", RW)
                .field(4, "VGA_16", RW)
                .field(5, "MASTER_ABORT", RW)
                .tagged(6, 1, "SEC_BUS_RESET")
                .field(7, "FAST_BACK", legacy);
    }
}
