package org.xenpci.armpci.hw;

import org.xenpci.core.Hex;
import org.xenpci.core.pci.PciRegs;

/**
 * One implemented BAR of a function: what it decodes and how big it is.
 *
 * <p>Sizes are bytes, a power of two, at least the minimum the spec allows for the kind
 * (PCI Local Bus 3.0 6.2.5.1: memory 16 bytes, I/O 4 bytes, at most 256 bytes per I/O BAR;
 * 6.2.5.2: ROM 2 KiB). A 32-bit memory BAR is at most 2 GiB (one address bit must stay
 * writable). {@code index} is 0..5 for BARs ({@link #ROM_INDEX} for the ROM); a MEM64 BAR also
 * occupies {@code index + 1}. Only memory BARs may be prefetchable.
 */
public record BarSpec(int index, BarKind kind, long size, boolean prefetchable) {
    /** The index used for the expansion ROM (Linux's {@code PCI_ROM_RESOURCE}). */
    public static final int ROM_INDEX = 6;

    /**
     * Checks the BAR against the limits above.
     *
     * @throws HardwareConfigException naming the BAR and the bad value
     */
    public BarSpec {
        if (kind == null) {
            throw new HardwareConfigException("BAR " + index + ": kind is null");
        }
        if (kind == BarKind.ROM ? index != ROM_INDEX : index < 0 || index > (kind == BarKind.MEM64 ? 4 : 5)) {
            throw new HardwareConfigException("BAR " + index + " (" + kind + "): index out of range"
                    + (kind == BarKind.ROM ? ", the ROM is index 6" : ""));
        }
        if (size <= 0 || Long.bitCount(size) != 1) {
            throw new HardwareConfigException("BAR " + index + " (" + kind + "): size " + Hex.of(size) + " is not a power of two");
        }
        if (size < minimumSize(kind)) {
            throw new HardwareConfigException("BAR " + index + " (" + kind + "): size " + Hex.of(size)
                    + " below the minimum " + Hex.of(minimumSize(kind)));
        }
        if (size > maximumSize(kind)) {
            throw new HardwareConfigException("BAR " + index + " (" + kind + "): size " + Hex.of(size)
                    + " above the maximum " + Hex.of(maximumSize(kind)));
        }
        if (prefetchable && (kind == BarKind.IO || kind == BarKind.ROM)) {
            throw new HardwareConfigException("BAR " + index + " (" + kind + "): only memory BARs can be prefetchable");
        }
    }

    /** Convenience for the ROM BAR. */
    public static BarSpec rom(long size) {
        return new BarSpec(ROM_INDEX, BarKind.ROM, size, false);
    }

    /** The smallest size the spec allows for {@code kind}, in bytes. */
    public static long minimumSize(BarKind kind) {
        switch (kind) {
            case IO:
                return 4;
            case ROM:
                return 2048;
            default:
                return 16;
        }
    }

    /** The largest size the model allows for {@code kind}, in bytes. */
    public static long maximumSize(BarKind kind) {
        switch (kind) {
            case IO:
                return 256;
            case MEM64:
                return 1L << 62;
            default:
                return 1L << 31;
        }
    }

    /** The read-only low bits of the BAR's first dword: space, type and prefetch (0 for a ROM). */
    public int flags() {
        switch (kind) {
            case IO:
                return PciRegs.PCI_BASE_ADDRESS_SPACE_IO;
            case MEM64:
                return PciRegs.PCI_BASE_ADDRESS_MEM_TYPE_64 | (prefetchable ? PciRegs.PCI_BASE_ADDRESS_MEM_PREFETCH : 0);
            case MEM32:
                return prefetchable ? PciRegs.PCI_BASE_ADDRESS_MEM_PREFETCH : 0;
            default:
                return 0;
        }
    }

    /** Config offset of the BAR's (first) dword for a function of {@code headerType} 0 or 1. */
    public int registerOffset(int headerType) {
        if (kind == BarKind.ROM) {
            return headerType == PciRegs.PCI_HEADER_TYPE_BRIDGE ? PciRegs.PCI_ROM_ADDRESS1 : PciRegs.PCI_ROM_ADDRESS;
        }
        return PciRegs.PCI_BASE_ADDRESS_0 + 4 * index;
    }

    /** Software-writable bits of the first dword: the address bits at or above the size. */
    int lowWritableMask() {
        switch (kind) {
            case IO:
                return (int) ~(size - 1) & PciRegs.PCI_BASE_ADDRESS_IO_MASK;
            case ROM:
                return (int) ~(size - 1) & PciRegs.PCI_ROM_ADDRESS_MASK | PciRegs.PCI_ROM_ADDRESS_ENABLE;
            default:
                // For a MEM64 BAR above 4 GiB every low address bit is below the size: all RO zero.
                return size > 0x8000_0000L ? 0 : (int) ~(size - 1) & PciRegs.PCI_BASE_ADDRESS_MEM_MASK;
        }
    }

    /** Software-writable bits of a MEM64 BAR's upper dword. */
    int highWritableMask() {
        return size <= 0x1_0000_0000L ? -1 : (int) ~((size - 1) >>> 32);
    }
}
